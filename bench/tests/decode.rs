//! The synthetic workload against the sensor's own decoder: every frame decodes, into
//! the flow of the conversation that produced it, with the expected packet and byte
//! totals.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use bench::synthetic::{Conversation, Workload, WorkloadConfig, generate};
use sensor::decap::{DecapConfig, Decoder, Packet};
use sensor::fixture::AwsOuter;
use sensor::flow::{Addr, FlowKey};

const VNI: u32 = 4242;

fn workload(flows: u32, seed: u64) -> Workload {
    let outer = AwsOuter {
        src_mac: [0x02, 0, 0, 0, 0, 1],
        dst_mac: [0x02, 0, 0, 0, 0, 2],
        src_ip: Ipv4Addr::new(192, 0, 2, 1),
        dst_ip: Ipv4Addr::new(192, 0, 2, 2),
        vni: VNI,
    };
    generate(&WorkloadConfig { flows, seed, outer })
}

fn decode_all(workload: &Workload) -> (Decoder, Vec<Option<Packet>>) {
    let mut decoder = Decoder::new(DecapConfig::default());
    let packets = workload
        .frames
        .iter()
        .map(|frame| decoder.decode(frame, frame.len() as u32, 0))
        .collect();
    (decoder, packets)
}

/// Returns the canonical flow key that a conversation's client-to-server packets carry.
fn expected_key(conversation: &Conversation) -> FlowKey {
    let (sport, dport) = match conversation.protocol {
        // ICMP keys: echo request type, then the identifier.
        1 => (8, conversation.client_port),
        58 => (128, conversation.client_port),
        _ => (conversation.client_port, conversation.server_port),
    };
    let key = FlowKey {
        vni: VNI,
        protocol: conversation.protocol,
        src: Addr::from(conversation.client),
        dst: Addr::from(conversation.server),
        sport,
        dport,
    };
    key.canonical().0
}

#[test]
fn synthetic_frames_all_decode() {
    let workload = workload(300, 11);
    let (decoder, packets) = decode_all(&workload);
    let undecoded = packets.iter().filter(|packet| packet.is_none()).count();
    assert_eq!(undecoded, 0, "counters: {:?}", decoder.counters());
    assert_eq!(decoder.counters().decoded, workload.frames.len() as u64);
}

#[test]
fn synthetic_frames_not_truncated() {
    let workload = workload(300, 11);
    let (_, packets) = decode_all(&workload);
    let truncated = packets
        .iter()
        .flatten()
        .filter(|packet| packet.truncated)
        .count();
    assert_eq!(truncated, 0);
}

#[test]
fn synthetic_frames_match_conversation_key() {
    let workload = workload(300, 11);
    let (_, packets) = decode_all(&workload);
    for (index, packet) in packets.iter().enumerate() {
        let Some(packet) = packet else { continue };
        let conversation = &workload.conversations[workload.frame_conversation[index]];
        let expected = expected_key(conversation);
        assert_eq!(
            packet.key.canonical().0,
            expected,
            "frame {index} of {conversation:?}"
        );
    }
}

#[test]
fn synthetic_conversations_are_distinct_flows() {
    let workload = workload(300, 11);
    let mut seen: HashMap<FlowKey, usize> = HashMap::new();
    for (index, conversation) in workload.conversations.iter().enumerate() {
        let key = expected_key(conversation);
        let earlier = seen.insert(key, index);
        assert_eq!(
            earlier, None,
            "conversations {earlier:?} and {index} share flow {key:?}"
        );
    }
}

#[test]
fn synthetic_flow_totals_match() {
    let workload = workload(300, 11);
    let (_, packets) = decode_all(&workload);
    let mut totals: HashMap<FlowKey, (u32, u64)> = HashMap::new();
    for packet in packets.iter().flatten() {
        let entry = totals.entry(packet.key.canonical().0).or_default();
        entry.0 += 1;
        entry.1 += u64::from(packet.ip_bytes);
    }
    assert_eq!(totals.len(), workload.conversations.len());
    for conversation in &workload.conversations {
        let key = expected_key(conversation);
        let (packets, bytes) = totals.get(&key).copied().unwrap_or_default();
        assert_eq!(packets, conversation.packets, "packets of {key:?}");
        assert_eq!(bytes, conversation.ip_bytes, "bytes of {key:?}");
    }
}
