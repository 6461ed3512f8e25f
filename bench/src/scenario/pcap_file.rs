//! Writing a classic pcap file: little-endian, microsecond timestamps, Ethernet link
//! type, every frame stored whole.

use std::io::{self, Write};

/// Classic pcap magic number for microsecond timestamps.
const MAGIC_MICROSECONDS: u32 = 0xa1b2_c3d4;
const VERSION_MAJOR: u16 = 2;
const VERSION_MINOR: u16 = 4;
/// Snap length in the file header: no frame is cut.
const SNAP_LEN: u32 = 65_535;
const LINK_TYPE_ETHERNET: u32 = 1;

/// Writes the pcap file header.
pub fn write_header(out: &mut impl Write) -> io::Result<()> {
    out.write_all(&MAGIC_MICROSECONDS.to_le_bytes())?;
    out.write_all(&VERSION_MAJOR.to_le_bytes())?;
    out.write_all(&VERSION_MINOR.to_le_bytes())?;
    out.write_all(&0i32.to_le_bytes())?; // time zone offset
    out.write_all(&0u32.to_le_bytes())?; // timestamp accuracy
    out.write_all(&SNAP_LEN.to_le_bytes())?;
    out.write_all(&LINK_TYPE_ETHERNET.to_le_bytes())
}

/// Writes one record; the time is cut to whole microseconds.
pub fn write_record(out: &mut impl Write, ts_ns: u64, frame: &[u8]) -> io::Result<()> {
    let seconds = ts_ns / 1_000_000_000;
    let micros = (ts_ns % 1_000_000_000) / 1000;
    let seconds = u32::try_from(seconds).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("time {ts_ns} ns is after 2106, the last second a classic pcap can hold"),
        )
    })?;
    let len = u32::try_from(frame.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame longer than 4 GiB"))?;
    out.write_all(&seconds.to_le_bytes())?;
    out.write_all(&(micros as u32).to_le_bytes())?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let mut bytes = Vec::new();
        write_header(&mut bytes).unwrap();
        assert_eq!(bytes.len(), 24);
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&bytes[20..], &[1, 0, 0, 0]);
    }

    #[test]
    fn record_time_in_microseconds() {
        let mut bytes = Vec::new();
        write_record(&mut bytes, 1_500_000_123_456_789, &[0xaa; 3]).unwrap();
        assert_eq!(&bytes[..4], &1_500_000u32.to_le_bytes());
        assert_eq!(&bytes[4..8], &123_456u32.to_le_bytes());
        assert_eq!(&bytes[8..16], &[3, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(&bytes[16..], &[0xaa; 3]);
    }
}
