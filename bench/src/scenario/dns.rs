//! DNS messages for the scenarios' UDP lookups: one A question, and a response with
//! one A answer (RFC 1035 wire format, name compression in the answer).

use std::net::Ipv4Addr;

const TYPE_A: u16 = 1;
const CLASS_IN: u16 = 1;
/// Answer time to live, in seconds.
const ANSWER_TTL: u32 = 300;

/// Builds a recursive query for the A record of `name`.
pub fn query(id: u16, name: &str) -> Vec<u8> {
    let mut message = header(id, 0x0100, 0);
    push_question(&mut message, name);
    message
}

/// Builds the response to [`query`] with one A answer.
pub fn response(id: u16, name: &str, answer: Ipv4Addr) -> Vec<u8> {
    let mut message = header(id, 0x8180, 1);
    push_question(&mut message, name);
    // A pointer (0xc0) to the question name at offset 12.
    message.extend_from_slice(&[0xc0, 12]);
    message.extend_from_slice(&TYPE_A.to_be_bytes());
    message.extend_from_slice(&CLASS_IN.to_be_bytes());
    message.extend_from_slice(&ANSWER_TTL.to_be_bytes());
    message.extend_from_slice(&4u16.to_be_bytes());
    message.extend_from_slice(&answer.octets());
    message
}

fn header(id: u16, flags: u16, answers: u16) -> Vec<u8> {
    let mut message = Vec::with_capacity(64);
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(&flags.to_be_bytes());
    message.extend_from_slice(&1u16.to_be_bytes());
    message.extend_from_slice(&answers.to_be_bytes());
    message.extend_from_slice(&[0, 0, 0, 0]);
    message
}

/// Appends the question; labels longer than 63 bytes are cut to 63.
fn push_question(message: &mut Vec<u8>, name: &str) {
    for label in name.split('.').filter(|label| !label.is_empty()) {
        let bytes = &label.as_bytes()[..label.len().min(63)];
        message.push(bytes.len() as u8);
        message.extend_from_slice(bytes);
    }
    message.push(0);
    message.extend_from_slice(&TYPE_A.to_be_bytes());
    message.extend_from_slice(&CLASS_IN.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_layout() {
        let message = query(0x1234, "a.example.com");
        // Header 12, name 1+1+1+7+1+3+1 = 15, type and class 4.
        assert_eq!(message.len(), 31);
        assert_eq!(&message[..6], &[0x12, 0x34, 0x01, 0x00, 0, 1]);
    }

    #[test]
    fn response_layout() {
        let message = response(7, "a.example.com", Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(message.len(), 31 + 16);
        assert_eq!(&message[6..8], &[0, 1]);
        assert_eq!(&message[43..], &[192, 0, 2, 1]);
    }
}
