//! The frames of a decrypted client Initial packet (RFC 9000 section 12.4 lists the
//! types allowed there): PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE. CRYPTO data
//! goes to a callback with its stream offset.

use crate::app::tls::reader::Reader;

const PADDING: u64 = 0x00;
const PING: u64 = 0x01;
const ACK: u64 = 0x02;
const ACK_ECN: u64 = 0x03;
const CRYPTO: u64 = 0x06;
const CONNECTION_CLOSE: u64 = 0x1c;

/// Reason the frame walk stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameError<E> {
    /// A frame type not allowed in Initial packets, or a frame cut short.
    Invalid,
    /// The CRYPTO callback failed.
    Crypto(E),
}

/// Walks the frames of `plaintext` and passes each CRYPTO frame's offset and data to
/// `on_crypto`. Returns the number of CRYPTO frames.
pub(crate) fn walk_frames<E>(
    plaintext: &[u8],
    mut on_crypto: impl FnMut(u64, &[u8]) -> Result<(), E>,
) -> Result<usize, FrameError<E>> {
    let mut reader = Reader::new(plaintext);
    let mut crypto_frames = 0usize;

    // Every frame consumes at least one byte, so the loop ends within plaintext.len().
    while !reader.is_empty() {
        let frame_type = reader.varint().ok_or(FrameError::Invalid)?;
        match frame_type {
            PADDING | PING => {}
            ACK | ACK_ECN => {
                skip_ack(&mut reader, frame_type == ACK_ECN).ok_or(FrameError::Invalid)?
            }
            CRYPTO => {
                let offset = reader.varint().ok_or(FrameError::Invalid)?;
                let len = reader.varint().ok_or(FrameError::Invalid)?;
                let len = usize::try_from(len).map_err(|_| FrameError::Invalid)?;
                let data = reader.take(len).ok_or(FrameError::Invalid)?;
                on_crypto(offset, data).map_err(FrameError::Crypto)?;
                crypto_frames += 1;
            }
            CONNECTION_CLOSE => skip_connection_close(&mut reader).ok_or(FrameError::Invalid)?,
            _ => return Err(FrameError::Invalid),
        }
    }
    Ok(crypto_frames)
}

/// Skips an ACK frame body (RFC 9000 section 19.3). The range count comes from the
/// wire, but each range reads at least 2 bytes, so a large count ends at the input end.
fn skip_ack(reader: &mut Reader<'_>, ecn: bool) -> Option<()> {
    reader.varint()?; // Largest Acknowledged
    reader.varint()?; // ACK Delay
    let ranges = reader.varint()?;
    reader.varint()?; // First ACK Range
    let mut left = ranges;
    while left > 0 {
        reader.varint()?; // Gap
        reader.varint()?; // ACK Range Length
        left -= 1;
    }
    if ecn {
        for _ in 0..3 {
            reader.varint()?;
        }
    }
    Some(())
}

/// Skips a CONNECTION_CLOSE frame body of the transport type (RFC 9000 section 19.19).
fn skip_connection_close(reader: &mut Reader<'_>) -> Option<()> {
    reader.varint()?; // Error Code
    reader.varint()?; // Frame Type
    let reason_len = usize::try_from(reader.varint()?).ok()?;
    reader.take(reason_len)?;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crypto_frames(plaintext: &[u8]) -> Result<Vec<(u64, Vec<u8>)>, FrameError<()>> {
        let mut frames = Vec::new();
        walk_frames(plaintext, |offset, data| {
            frames.push((offset, data.to_vec()));
            Ok::<(), ()>(())
        })?;
        Ok(frames)
    }

    #[test]
    fn frame_table() {
        type Expected = Result<Vec<(u64, Vec<u8>)>, FrameError<()>>;
        let cases: Vec<(&str, Vec<u8>, Expected)> = vec![
            ("padding only", vec![0; 10], Ok(vec![])),
            (
                "ping then crypto",
                vec![1, 6, 0, 2, 0xaa, 0xbb],
                Ok(vec![(0, vec![0xaa, 0xbb])]),
            ),
            (
                "two crypto out of order",
                vec![6, 2, 1, 0xcc, 6, 0, 2, 0xaa, 0xbb, 0, 0],
                Ok(vec![(2, vec![0xcc]), (0, vec![0xaa, 0xbb])]),
            ),
            ("ack one range", vec![2, 5, 0, 1, 0, 1, 2, 1], Ok(vec![])),
            ("ack ecn", vec![3, 5, 0, 0, 0, 1, 1, 1], Ok(vec![])),
            (
                "connection close",
                vec![0x1c, 1, 0, 2, b'n', b'o'],
                Ok(vec![]),
            ),
            ("stream frame", vec![0x08, 0, 0], Err(FrameError::Invalid)),
            (
                "crypto overruns",
                vec![6, 0, 9, 0xaa],
                Err(FrameError::Invalid),
            ),
            (
                "crypto cut in header",
                vec![6, 0x40],
                Err(FrameError::Invalid),
            ),
            // A range count of 2^62 - 1 ends at the input end, not after 2^62 loops.
            (
                "ack huge range count",
                vec![
                    2, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1, 1,
                ],
                Err(FrameError::Invalid),
            ),
            (
                "close reason overruns",
                vec![0x1c, 1, 0, 9, b'n'],
                Err(FrameError::Invalid),
            ),
        ];
        for (name, plaintext, expected) in cases {
            assert_eq!(crypto_frames(&plaintext), expected, "case {name}");
        }
    }

    #[test]
    fn crypto_error_passed_on() {
        let result = walk_frames(&[6, 0, 1, 0xaa], |_, _| Err("full"));
        assert_eq!(result, Err(FrameError::Crypto("full")));
    }
}
