//! QUIC versions and the client Initial packet protection keys derived from the
//! Destination Connection ID (RFC 9001 section 5.2, RFC 9369 section 3.3). The keys
//! compute the AES-128 header protection mask (RFC 9001 section 5.4.3) and decrypt
//! payloads with AES-128-GCM (RFC 9001 section 5.3).

use aes::Aes128;
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, KeyInit};
use hkdf::Hkdf;
use sha2::Sha256;

/// Length of the AEAD authentication tag.
pub(crate) const TAG_BYTES: usize = 16;
/// Length of the header protection sample.
pub(crate) const SAMPLE_BYTES: usize = 16;

/// A QUIC version whose Initial packets the sensor decrypts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuicVersion {
    /// QUIC version 1 (RFC 9000), wire value 0x00000001.
    V1,
    /// QUIC version 2 (RFC 9369), wire value 0x6b3343cf.
    V2,
}

impl QuicVersion {
    /// Returns the version for a wire value, or `None` for other versions.
    pub fn from_wire(value: u32) -> Option<Self> {
        match value {
            0x0000_0001 => Some(QuicVersion::V1),
            0x6b33_43cf => Some(QuicVersion::V2),
            _ => None,
        }
    }

    pub fn wire(self) -> u32 {
        match self {
            QuicVersion::V1 => 0x0000_0001,
            QuicVersion::V2 => 0x6b33_43cf,
        }
    }

    /// Returns the two long-header type bits of an Initial packet (RFC 9369 section 3.2
    /// renumbers the types).
    pub(crate) fn initial_type(self) -> u8 {
        match self {
            QuicVersion::V1 => 0b00,
            QuicVersion::V2 => 0b01,
        }
    }

    fn initial_salt(self) -> [u8; 20] {
        match self {
            QuicVersion::V1 => [
                0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
            ],
            QuicVersion::V2 => [
                0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26,
                0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
            ],
        }
    }

    /// Returns the HKDF labels of the packet key, IV and header protection key.
    fn labels(self) -> [&'static [u8]; 3] {
        match self {
            QuicVersion::V1 => [b"quic key", b"quic iv", b"quic hp"],
            QuicVersion::V2 => [b"quicv2 key", b"quicv2 iv", b"quicv2 hp"],
        }
    }
}

/// The keys that protect a client's Initial packets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InitialKeys {
    pub(crate) key: [u8; 16],
    pub(crate) iv: [u8; 12],
    pub(crate) hp: [u8; 16],
}

impl InitialKeys {
    /// Derives the client Initial keys from the Destination Connection ID of the
    /// client's first Initial packet. Returns `None` only if HKDF rejects a length, which
    /// the fixed sizes here rule out.
    pub(crate) fn client(version: QuicVersion, dcid: &[u8]) -> Option<Self> {
        let (initial_secret, _) = Hkdf::<Sha256>::extract(Some(&version.initial_salt()), dcid);
        let mut client_secret = [0u8; 32];
        expand_label(&initial_secret, b"client in", &mut client_secret)?;

        let [key_label, iv_label, hp_label] = version.labels();
        let mut keys = InitialKeys {
            key: [0; 16],
            iv: [0; 12],
            hp: [0; 16],
        };
        expand_label(&client_secret, key_label, &mut keys.key)?;
        expand_label(&client_secret, iv_label, &mut keys.iv)?;
        expand_label(&client_secret, hp_label, &mut keys.hp)?;
        Some(keys)
    }

    /// Computes the 5-byte header protection mask from a 16-byte ciphertext sample.
    pub(crate) fn header_mask(&self, sample: [u8; SAMPLE_BYTES]) -> [u8; 5] {
        use aes::cipher::{BlockEncrypt, KeyInit as _};

        let cipher = Aes128::new(&self.hp.into());
        let mut block = sample.into();
        cipher.encrypt_block(&mut block);
        let mut mask = [0u8; 5];
        mask.copy_from_slice(&block[..5]);
        mask
    }

    /// Decrypts `payload` in place. The nonce is the IV XOR the packet number; `header`
    /// (with header protection removed) is the associated data. Returns `None` when the
    /// authentication tag does not match.
    pub(crate) fn decrypt(
        &self,
        packet_number: u64,
        header: &[u8],
        payload: &mut [u8],
        tag: [u8; TAG_BYTES],
    ) -> Option<()> {
        let cipher = Aes128Gcm::new_from_slice(&self.key).ok()?;
        let mut nonce = self.iv;
        for (byte, pn_byte) in nonce.iter_mut().rev().zip(packet_number.to_le_bytes()) {
            *byte ^= pn_byte;
        }
        cipher
            .decrypt_in_place_detached(&nonce.into(), header, payload, &tag.into())
            .ok()
    }
}

/// HKDF-Expand-Label of TLS 1.3 (RFC 8446 section 7.1) with an empty context, into
/// `out`: the info is the output length, the label prefixed with "tls13 ", and a zero
/// context length.
fn expand_label(secret: &[u8], label: &[u8], out: &mut [u8]) -> Option<()> {
    let hkdf = Hkdf::<Sha256>::from_prk(secret).ok()?;
    let full_label_len = u8::try_from(6 + label.len()).ok()?;
    let out_len = u16::try_from(out.len()).ok()?;

    let mut info = [0u8; 2 + 1 + 255 + 1];
    let mut len = 0;
    for part in [
        &out_len.to_be_bytes()[..],
        &[full_label_len],
        b"tls13 ",
        label,
        &[0],
    ] {
        info.get_mut(len..len + part.len())?.copy_from_slice(part);
        len += part.len();
    }
    hkdf.expand(info.get(..len)?, out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Destination Connection ID of RFC 9001 appendix A and RFC 9369 appendix A.
    const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn v1_client_keys_rfc9001() {
        // RFC 9001 appendix A.1.
        let keys = InitialKeys::client(QuicVersion::V1, &DCID).unwrap();
        assert_eq!(keys.key.to_vec(), hex("1f369613dd76d5467730efcbe3b1a22d"));
        assert_eq!(keys.iv.to_vec(), hex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(keys.hp.to_vec(), hex("9f50449e04a0e810283a1e9933adedd2"));
    }

    #[test]
    fn v1_header_mask_rfc9001() {
        // RFC 9001 appendix A.2: the sample and the mask it gives.
        let keys = InitialKeys::client(QuicVersion::V1, &DCID).unwrap();
        let sample: [u8; 16] = hex("d1b1c98dd7689fb8ec11d242b123dc9b").try_into().unwrap();
        assert_eq!(keys.header_mask(sample).to_vec(), hex("437b9aec36"));
    }

    #[test]
    fn v2_header_mask_rfc9369() {
        // RFC 9369 appendix A.2: the sample and the mask it gives.
        let keys = InitialKeys::client(QuicVersion::V2, &DCID).unwrap();
        let sample: [u8; 16] = hex("ffe67b6abcdb4298b485dd04de806071").try_into().unwrap();
        assert_eq!(keys.header_mask(sample).to_vec(), hex("94a0c95e80"));
    }

    #[test]
    fn versions_round_trip() {
        for version in [QuicVersion::V1, QuicVersion::V2] {
            assert_eq!(QuicVersion::from_wire(version.wire()), Some(version));
        }
        assert_eq!(QuicVersion::from_wire(0xff00_001d), None);
    }
}
