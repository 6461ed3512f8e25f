//! Reading the frames of a pcap or pcapng file into memory, for sending them again.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, bail};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{Linktype, PcapBlockOwned, PcapError, create_reader};

/// Reader buffer size: the largest block the reader can hold at once.
const READ_BUFFER_BYTES: usize = 1 << 20;

/// Reads every Ethernet frame of a classic pcap or pcapng file, as captured (a frame cut
/// by the snap length stays cut).
pub fn read_frames(path: &Path) -> Result<Vec<Vec<u8>>> {
    let file =
        File::open(path).with_context(|| format!("failed to open pcap file {}", path.display()))?;
    let mut reader = create_reader(READ_BUFFER_BYTES, file).map_err(|error| {
        anyhow::anyhow!("{}: not a pcap or pcapng file ({error:?})", path.display())
    })?;

    let mut frames = Vec::new();
    // pcapng gives each interface its own link type; classic pcap has one for the file,
    // read from its header (index 0 here).
    let mut link_types: HashMap<u32, Linktype> = HashMap::new();
    let mut next_interface = 0u32;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(header) => {
                        link_types.insert(0, header.network);
                    }
                    PcapBlockOwned::Legacy(packet) => {
                        check_ethernet(path, &link_types, 0)?;
                        frames.push(packet.data.to_vec());
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        link_types.clear();
                        next_interface = 0;
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(interface)) => {
                        link_types.insert(next_interface, interface.linktype);
                        next_interface += 1;
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(packet)) => {
                        check_ethernet(path, &link_types, packet.if_id)?;
                        frames.push(packet.packet_data().to_vec());
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(packet)) => {
                        check_ethernet(path, &link_types, 0)?;
                        frames.push(packet.packet_data().to_vec());
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                reader.refill().map_err(|error| {
                    anyhow::anyhow!("{}: read failed ({error:?})", path.display())
                })?;
            }
            Err(error) => bail!(
                "{}: invalid pcap data after {} frames ({error:?})",
                path.display(),
                frames.len()
            ),
        }
    }
    Ok(frames)
}

fn check_ethernet(path: &Path, link_types: &HashMap<u32, Linktype>, interface: u32) -> Result<()> {
    match link_types.get(&interface) {
        Some(&Linktype::ETHERNET) => Ok(()),
        Some(other) => bail!(
            "{}: interface {interface} has link type {other}, only Ethernet (1) can be sent",
            path.display()
        ),
        None => bail!(
            "{}: packet for interface {interface}, which the file never describes",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn captures_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures")
    }

    /// Returns the capture's path, or `None` (after saying why) when it is missing
    /// outside CI. Under CI a missing capture fails the test.
    fn capture(name: &str) -> Option<PathBuf> {
        let path = captures_dir().join(name);
        if path.is_file() {
            return Some(path);
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "capture {} is missing",
            path.display()
        );
        eprintln!("skipped: capture {} is missing", path.display());
        None
    }

    #[test]
    fn read_aws_capture_counts() {
        let Some(path) = capture("aws-tm-vxlan-ssh-dns-ntp.pcap") else {
            return;
        };
        let frames = read_frames(&path).unwrap();
        assert_eq!(frames.len(), 100);
        assert_eq!(frames.iter().map(Vec::len).max(), Some(1508));
    }

    #[test]
    fn read_keeps_snap_truncation() {
        let Some(path) = capture("geneve-ipv4-vxlan-dns-snaplen-truncated.pcap") else {
            return;
        };
        let frames = read_frames(&path).unwrap();
        assert_eq!(frames.len(), 2);
        assert!(frames.iter().all(|frame| frame.len() == 176));
    }

    /// Builds a little-endian pcapng file: a section header, one interface of
    /// `link_type`, and one enhanced packet block per frame.
    fn pcapng(link_type: u16, frames: &[&[u8]]) -> Vec<u8> {
        let mut file = Vec::new();
        let mut block = |kind: u32, body: &[u8]| {
            let len = (12 + body.len()) as u32;
            file.extend_from_slice(&kind.to_le_bytes());
            file.extend_from_slice(&len.to_le_bytes());
            file.extend_from_slice(body);
            file.extend_from_slice(&len.to_le_bytes());
        };

        let mut section = Vec::new();
        section.extend_from_slice(&0x1a2b_3c4d_u32.to_le_bytes());
        section.extend_from_slice(&[1, 0, 0, 0]); // version 1.0
        section.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        block(0x0a0d_0d0a, &section);

        let mut interface = Vec::new();
        interface.extend_from_slice(&link_type.to_le_bytes());
        interface.extend_from_slice(&[0, 0]);
        interface.extend_from_slice(&65_535u32.to_le_bytes());
        block(1, &interface);

        for frame in frames {
            let mut packet = Vec::new();
            packet.extend_from_slice(&0u32.to_le_bytes()); // interface id
            packet.extend_from_slice(&[0; 8]); // timestamp
            packet.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            packet.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            packet.extend_from_slice(frame);
            packet.resize(packet.len().next_multiple_of(4), 0);
            block(6, &packet);
        }
        file
    }

    fn read_bytes(name: &str, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        let path = std::env::temp_dir().join(format!("mirror-gen-{name}-{}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        let result = read_frames(&path);
        std::fs::remove_file(&path).unwrap();
        result
    }

    #[test]
    fn read_pcapng_frames() {
        let first = [0xaau8; 60];
        let second = [0xbbu8; 61];
        let frames = read_bytes("ng", &pcapng(1, &[&first, &second])).unwrap();
        assert_eq!(frames, vec![first.to_vec(), second.to_vec()]);
    }

    #[test]
    fn read_pcapng_rejects_non_ethernet() {
        // Link type 101 is raw IP.
        let error = read_bytes("raw", &pcapng(101, &[&[0x45; 20]])).unwrap_err();
        assert!(error.to_string().contains("link type"), "{error}");
    }

    #[test]
    fn read_rejects_non_pcap() {
        assert!(read_bytes("text", b"this is not a capture file at all").is_err());
    }
}
