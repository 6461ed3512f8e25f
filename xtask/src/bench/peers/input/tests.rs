use super::*;

const INNER_MAC: [u8; 12] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];

/// Builds an inner Ethernet + IPv4 + TCP or UDP frame.
fn inner_ipv4(protocol: u8, source: [u8; 4], destination: [u8; 4], ports: (u16, u16)) -> Vec<u8> {
    let mut frame = INNER_MAC.to_vec();
    frame.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0, 0, 64, protocol, 0, 0];
    ip.extend_from_slice(&source);
    ip.extend_from_slice(&destination);
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&ports.0.to_be_bytes());
    frame.extend_from_slice(&ports.1.to_be_bytes());
    frame.extend_from_slice(&[0; 16]);
    frame
}

/// Wraps `inner` in Ethernet + IPv4 + UDP + VXLAN.
fn vxlan_ipv4(inner: &[u8], port: u16, flags: u8) -> Vec<u8> {
    let mut frame = INNER_MAC.to_vec();
    frame.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    frame.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0, 0, 64, PROTOCOL_UDP, 0, 0]);
    frame.extend_from_slice(&[10, 9, 0, 1, 10, 9, 0, 2]);
    frame.extend_from_slice(&40000u16.to_be_bytes());
    frame.extend_from_slice(&port.to_be_bytes());
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(&[flags, 0, 0, 0, 0, 0, 7, 0]);
    frame.extend_from_slice(inner);
    frame
}

/// Wraps `inner` in Ethernet + IPv6 + UDP + VXLAN.
fn vxlan_ipv6(inner: &[u8]) -> Vec<u8> {
    let mut frame = INNER_MAC.to_vec();
    frame.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    frame.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, PROTOCOL_UDP, 64]);
    frame.extend_from_slice(&[0xfd; 32]);
    frame.extend_from_slice(&40000u16.to_be_bytes());
    frame.extend_from_slice(&VXLAN_PORT.to_be_bytes());
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(&[VXLAN_FLAG_VNI, 0, 0, 0, 0, 0, 7, 0]);
    frame.extend_from_slice(inner);
    frame
}

fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&65535u32.to_le_bytes());
    bytes.extend_from_slice(&1u32.to_le_bytes());
    for (index, frame) in frames.iter().enumerate() {
        bytes.extend_from_slice(&(index as u32).to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        bytes.extend_from_slice(frame);
    }
    bytes
}

#[test]
fn strip_vxlan_cases() {
    let inner = inner_ipv4(PROTOCOL_TCP, [10, 0, 0, 1], [10, 0, 0, 2], (1234, 80));
    let mut vlan_tagged = vxlan_ipv4(&inner, VXLAN_PORT, VXLAN_FLAG_VNI);
    vlan_tagged.splice(12..12, [0x81, 0x00, 0x00, 0x05]);
    let cases: [(&str, Vec<u8>, Option<usize>); 7] = [
        (
            "ipv4 outer",
            vxlan_ipv4(&inner, VXLAN_PORT, VXLAN_FLAG_VNI),
            Some(inner.len()),
        ),
        ("ipv6 outer", vxlan_ipv6(&inner), Some(inner.len())),
        ("vlan tag", vlan_tagged, Some(inner.len())),
        ("other port", vxlan_ipv4(&inner, 4790, VXLAN_FLAG_VNI), None),
        ("no I flag", vxlan_ipv4(&inner, VXLAN_PORT, 0), None),
        (
            "cut inner",
            vxlan_ipv4(&inner[..10], VXLAN_PORT, VXLAN_FLAG_VNI),
            None,
        ),
        ("plain tcp", inner.clone(), None),
    ];
    for (name, frame, expected) in cases {
        assert_eq!(
            strip_vxlan(&frame).map(<[u8]>::len),
            expected,
            "case {name}"
        );
    }
}

#[test]
fn strip_vxlan_short_frames() {
    // Outer headers (50 bytes) plus an inner Ethernet header (14) is the shortest frame
    // that has an inner frame.
    let frame = vxlan_ipv4(&[0; 20], VXLAN_PORT, VXLAN_FLAG_VNI);
    for len in 0..64 {
        assert_eq!(strip_vxlan(&frame[..len]), None, "length {len}");
    }
    assert_eq!(strip_vxlan(&frame[..64]).map(<[u8]>::len), Some(14));
}

#[test]
fn convert_counts_flows() {
    let a = [10, 0, 0, 1];
    let b = [10, 0, 0, 2];
    let frames = vec![
        vxlan_ipv4(
            &inner_ipv4(PROTOCOL_TCP, a, b, (1000, 80)),
            VXLAN_PORT,
            VXLAN_FLAG_VNI,
        ),
        vxlan_ipv4(
            &inner_ipv4(PROTOCOL_TCP, b, a, (80, 1000)),
            VXLAN_PORT,
            VXLAN_FLAG_VNI,
        ),
        vxlan_ipv4(
            &inner_ipv4(PROTOCOL_UDP, a, b, (5000, 53)),
            VXLAN_PORT,
            VXLAN_FLAG_VNI,
        ),
        inner_ipv4(PROTOCOL_UDP, a, b, (5000, 53)),
    ];
    let mut output = Vec::new();
    let counts = convert(&mut pcap(&frames).as_slice(), &mut output).unwrap();
    assert_eq!(counts.frames, 4);
    assert_eq!(counts.inner_frames, 3);
    assert_eq!(counts.not_vxlan, 1);
    assert_eq!(counts.conversations, 2);
    assert_eq!(counts.directional_flows, 3);
    assert_eq!(counts.tcp_conversations, 1);
}

#[test]
fn convert_writes_inner_frames() {
    let inner = inner_ipv4(PROTOCOL_TCP, [10, 0, 0, 1], [10, 0, 0, 2], (1000, 80));
    let frames = vec![vxlan_ipv4(&inner, VXLAN_PORT, VXLAN_FLAG_VNI)];
    let mut output = Vec::new();
    convert(&mut pcap(&frames).as_slice(), &mut output).unwrap();
    assert_eq!(output, pcap(&[inner]));
}

#[test]
fn convert_rejects_pcapng() {
    let mut input: &[u8] = &[
        0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let error = convert(&mut input, &mut Vec::new()).unwrap_err();
    assert!(error.to_string().contains("not classic pcap"), "{error}");
}

#[test]
fn convert_rejects_cut_record() {
    let frames = vec![vxlan_ipv4(&[0; 20], VXLAN_PORT, VXLAN_FLAG_VNI)];
    let bytes = pcap(&frames);
    let error = convert(&mut &bytes[..bytes.len() - 1], &mut Vec::new()).unwrap_err();
    assert!(error.to_string().contains("cut short"), "{error}");
}
