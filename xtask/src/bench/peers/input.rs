//! The decapsulated twin of a mirror capture: reads a classic pcap of AWS VXLAN mirror
//! frames, writes a pcap of the inner Ethernet frames for peers that cannot decapsulate
//! VXLAN, and counts the flows every peer is expected to find.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// UDP destination port of VXLAN (RFC 7348), the port AWS traffic mirroring uses.
const VXLAN_PORT: u16 = 4789;
const VXLAN_HEADER_LEN: usize = 8;
/// VXLAN flags byte with the I bit: the VNI field is valid.
const VXLAN_FLAG_VNI: u8 = 0x08;
const ETHERNET_HEADER_LEN: usize = 14;
const VLAN_TAG_LEN: usize = 4;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const IPV6_HEADER_LEN: usize = 40;
const UDP_HEADER_LEN: usize = 8;
const PROTOCOL_TCP: u8 = 6;
const PROTOCOL_UDP: u8 = 17;
const PCAP_HEADER_LEN: usize = 24;
const PCAP_RECORD_HEADER_LEN: usize = 16;
/// Maximum record length accepted, because a longer record means a corrupt file.
const MAX_RECORD_LEN: u32 = 262_144;

/// Frame and flow counts of a mirror capture, taken while writing its twin.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InputCounts {
    /// Frames read from the mirror capture.
    pub frames: u64,
    /// Inner frames written to the twin.
    pub inner_frames: u64,
    /// Frames skipped because they are not IPv4 or IPv6 UDP to port 4789 with a valid
    /// VXLAN header, or are cut short.
    pub not_vxlan: u64,
    /// Distinct conversations: (protocol, unordered pair of address and port). This is
    /// the expected count of a bidirectional flow meter with no idle timeout.
    pub conversations: u64,
    /// Distinct directional 5-tuples: the expected count of a unidirectional meter.
    pub directional_flows: u64,
    /// Distinct TCP conversations.
    pub tcp_conversations: u64,
}

/// A flow key: protocol, then the two (address, port) ends. Addresses are IPv6 or
/// IPv4-mapped, so both families share one type.
type Endpoint = ([u8; 16], u16);
type Key = (u8, Endpoint, Endpoint);

/// Reads `vxlan_pcap`, writes the inner frames to `inner_pcap` with the same timestamps,
/// and returns the counts.
pub fn write_inner_twin(vxlan_pcap: &Path, inner_pcap: &Path) -> Result<InputCounts> {
    let input = File::open(vxlan_pcap)
        .with_context(|| format!("failed to open {}", vxlan_pcap.display()))?;
    let output = File::create(inner_pcap)
        .with_context(|| format!("failed to create {}", inner_pcap.display()))?;
    let mut reader = BufReader::new(input);
    let mut writer = BufWriter::new(output);
    let counts = convert(&mut reader, &mut writer)
        .with_context(|| format!("failed to convert {}", vxlan_pcap.display()))?;
    writer
        .flush()
        .with_context(|| format!("failed to write {}", inner_pcap.display()))?;
    Ok(counts)
}

/// Copies the pcap header and every inner frame from `reader` to `writer`, and counts
/// frames and distinct flows on the way.
fn convert(reader: &mut impl Read, writer: &mut impl Write) -> Result<InputCounts> {
    let mut header = [0u8; PCAP_HEADER_LEN];
    reader
        .read_exact(&mut header)
        .context("the file is shorter than a pcap header (24 bytes)")?;
    let big_endian = byte_order(&header)?;
    writer.write_all(&header)?;

    let mut counts = InputCounts::default();
    let mut conversations = HashSet::new();
    let mut directional = HashSet::new();
    let mut record = [0u8; PCAP_RECORD_HEADER_LEN];
    let mut frame = Vec::new();
    while read_record(reader, big_endian, &mut record, &mut frame)? {
        counts.frames += 1;
        let Some(inner) = strip_vxlan(&frame) else {
            counts.not_vxlan += 1;
            continue;
        };
        counts.inner_frames += 1;
        write_inner_record(writer, &record, big_endian, frame.len(), inner)?;

        let Some(key) = flow_key(inner) else {
            continue;
        };
        directional.insert(key);
        let (protocol, a, b) = key;
        conversations.insert(if a <= b {
            (protocol, a, b)
        } else {
            (protocol, b, a)
        });
    }
    counts.conversations = conversations.len() as u64;
    counts.directional_flows = directional.len() as u64;
    counts.tcp_conversations = conversations
        .iter()
        .filter(|(protocol, _, _)| *protocol == PROTOCOL_TCP)
        .count() as u64;
    Ok(counts)
}

/// Writes one record of the twin: the outer timestamp, and both lengths shortened by the
/// outer headers removed.
fn write_inner_record(
    writer: &mut impl Write,
    record: &[u8; PCAP_RECORD_HEADER_LEN],
    big_endian: bool,
    frame_len: usize,
    inner: &[u8],
) -> Result<()> {
    let original_len = read_u32(&record[12..16], big_endian);
    let removed = u32::try_from(frame_len.saturating_sub(inner.len())).unwrap_or(u32::MAX);
    let inner_len = u32::try_from(inner.len()).unwrap_or(u32::MAX);
    writer.write_all(&record[0..8])?;
    writer.write_all(&write_u32(inner_len, big_endian))?;
    writer.write_all(&write_u32(original_len.saturating_sub(removed), big_endian))?;
    writer.write_all(inner)?;
    Ok(())
}

/// Returns true for a big-endian file; fails on anything but classic pcap.
fn byte_order(header: &[u8; PCAP_HEADER_LEN]) -> Result<bool> {
    match header[0..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => Ok(false),
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => Ok(true),
        _ => bail!(
            "magic number {:02x?} is not classic pcap; convert pcapng with `editcap -F pcap`",
            &header[0..4]
        ),
    }
}

/// Reads the next record into `record` and `frame`. Returns false at the end of the file.
fn read_record(
    reader: &mut impl Read,
    big_endian: bool,
    record: &mut [u8; PCAP_RECORD_HEADER_LEN],
    frame: &mut Vec<u8>,
) -> Result<bool> {
    match reader.read_exact(record) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(error) => return Err(error.into()),
    }
    let captured = read_u32(&record[8..12], big_endian);
    if captured > MAX_RECORD_LEN {
        bail!("record of {captured} bytes is longer than {MAX_RECORD_LEN}: the file is corrupt");
    }
    frame.resize(captured as usize, 0);
    reader
        .read_exact(frame)
        .context("the last record is cut short")?;
    Ok(true)
}

/// Returns the inner Ethernet frame of a VXLAN mirror frame, or `None` when the frame is
/// not IPv4 or IPv6 UDP to port 4789 with the VXLAN I flag set.
pub fn strip_vxlan(frame: &[u8]) -> Option<&[u8]> {
    let (ethertype, ip) = ethernet_payload(frame)?;
    let (protocol, udp) = ip_payload(ethertype, ip)?;
    if protocol != PROTOCOL_UDP {
        return None;
    }
    let destination_port = u16::from_be_bytes([*udp.get(2)?, *udp.get(3)?]);
    if destination_port != VXLAN_PORT {
        return None;
    }
    let vxlan = udp.get(UDP_HEADER_LEN..)?;
    if vxlan.first()? & VXLAN_FLAG_VNI == 0 {
        return None;
    }
    let inner = vxlan.get(VXLAN_HEADER_LEN..)?;
    (inner.len() >= ETHERNET_HEADER_LEN).then_some(inner)
}

/// Returns the flow key of an inner Ethernet frame, or `None` for a frame that is not
/// IPv4 or IPv6. Ports are zero for protocols other than TCP and UDP.
fn flow_key(frame: &[u8]) -> Option<Key> {
    let (ethertype, ip) = ethernet_payload(frame)?;
    let (source, destination) = match ethertype {
        ETHERTYPE_IPV4 => (mapped_ipv4(ip.get(12..16)?)?, mapped_ipv4(ip.get(16..20)?)?),
        ETHERTYPE_IPV6 => (
            ip.get(8..24)?.try_into().ok()?,
            ip.get(24..40)?.try_into().ok()?,
        ),
        _ => return None,
    };
    let (protocol, l4) = ip_payload(ethertype, ip)?;
    // NOTE: a non-first IPv4 fragment has no ports, so its first payload bytes are taken
    // as ports. scenario-gen writes no fragments.
    let ports = match protocol {
        PROTOCOL_TCP | PROTOCOL_UDP => (
            u16::from_be_bytes([*l4.first()?, *l4.get(1)?]),
            u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]),
        ),
        _ => (0, 0),
    };
    Some((protocol, (source, ports.0), (destination, ports.1)))
}

/// Returns the ethertype and payload of an Ethernet frame, past at most one VLAN tag.
fn ethernet_payload(frame: &[u8]) -> Option<(u16, &[u8])> {
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    if ethertype != ETHERTYPE_VLAN {
        return Some((ethertype, frame.get(ETHERNET_HEADER_LEN..)?));
    }
    let tagged = ETHERNET_HEADER_LEN + VLAN_TAG_LEN;
    let inner_type = u16::from_be_bytes([*frame.get(16)?, *frame.get(17)?]);
    Some((inner_type, frame.get(tagged..)?))
}

/// Returns the protocol number and payload of an IPv4 or IPv6 packet. IPv6 extension
/// headers are not walked: the next-header value of the fixed header is returned.
fn ip_payload(ethertype: u16, ip: &[u8]) -> Option<(u8, &[u8])> {
    match ethertype {
        ETHERTYPE_IPV4 => {
            let header_len = usize::from(ip.first()? & 0x0f) * 4;
            if header_len < 20 {
                return None;
            }
            Some((*ip.get(9)?, ip.get(header_len..)?))
        }
        ETHERTYPE_IPV6 => Some((*ip.get(6)?, ip.get(IPV6_HEADER_LEN..)?)),
        _ => None,
    }
}

fn mapped_ipv4(address: &[u8]) -> Option<[u8; 16]> {
    let octets: [u8; 4] = address.try_into().ok()?;
    Some(std::net::Ipv4Addr::from(octets).to_ipv6_mapped().octets())
}

fn read_u32(bytes: &[u8], big_endian: bool) -> u32 {
    let word: [u8; 4] = bytes
        .get(..4)
        .and_then(|head| head.try_into().ok())
        .unwrap_or_default();
    if big_endian {
        u32::from_be_bytes(word)
    } else {
        u32::from_le_bytes(word)
    }
}

fn write_u32(value: u32, big_endian: bool) -> [u8; 4] {
    if big_endian {
        value.to_be_bytes()
    } else {
        value.to_le_bytes()
    }
}

#[cfg(test)]
mod tests;
