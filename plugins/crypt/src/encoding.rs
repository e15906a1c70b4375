//! How encrypted names are written as text (`filename_encoding`): rclone's
//! base32 (the base32hex alphabet, lower-case, unpadded), base64 (URL-safe,
//! unpadded) and base32768 (qntm's, 15 bits per character, for backends
//! that count name length in characters).

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// One of the encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Base32,
    Base64,
    Base32768,
}

impl Encoding {
    /// The option's value, as rclone accepts it (any case).
    pub fn parse(text: &str) -> Option<Encoding> {
        match text.to_ascii_lowercase().as_str() {
            "base32" => Some(Encoding::Base32),
            "base64" => Some(Encoding::Base64),
            "base32768" => Some(Encoding::Base32768),
            _ => None,
        }
    }

    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Base32 => base32_encode(bytes),
            Encoding::Base64 => BASE64.encode(bytes),
            Encoding::Base32768 => base32768_encode(bytes),
        }
    }

    pub fn decode(self, text: &str) -> Result<Vec<u8>, String> {
        match self {
            Encoding::Base32 => base32_decode(text),
            Encoding::Base64 => BASE64
                .decode(text)
                .map_err(|e| format!("bad base64 filename encoding: {e}")),
            Encoding::Base32768 => base32768_decode(text),
        }
    }
}

/// Unpadded URL-safe base64 that, like Go's, accepts non-zero trailing bits.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

const BASE32_ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32_ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32_ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn base32_decode(text: &str) -> Result<Vec<u8>, String> {
    if text.ends_with('=') {
        return Err("bad base32 filename encoding".into());
    }
    // Lengths no base32 encoding produces (Go's decoder refuses them).
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return Err(format!(
            "bad base32 filename encoding: {} characters",
            text.len()
        ));
    }
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, c) in text.bytes().enumerate() {
        let value = match c.to_ascii_lowercase() {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'v' => c - b'a' + 10,
            _ => return Err(format!("bad base32 filename encoding at byte {i}")),
        };
        acc = (acc << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// The first code point of each 32-character block of the 15-bit
/// repertoire, in order: qntm's ranges, expanded.
const BLOCKS15: &[(u32, u32)] = &[
    (0x04A0, 0x04BF),
    (0x0500, 0x051F),
    (0x0680, 0x06BF),
    (0x0760, 0x079F),
    (0x07C0, 0x07DF),
    (0x1000, 0x101F),
    (0x10A0, 0x10BF),
    (0x1100, 0x115F),
    (0x1180, 0x119F),
    (0x11E0, 0x123F),
    (0x1260, 0x127F),
    (0x12E0, 0x12FF),
    (0x1320, 0x133F),
    (0x13A0, 0x13DF),
    (0x1420, 0x165F),
    (0x16A0, 0x16DF),
    (0x1780, 0x179F),
    (0x1820, 0x185F),
    (0x18C0, 0x18DF),
    (0x1980, 0x199F),
    (0x19E0, 0x19FF),
    (0x1A20, 0x1A3F),
    (0x1BC0, 0x1BDF),
    (0x1C00, 0x1C1F),
    (0x1D00, 0x1D1F),
    (0x21E0, 0x21FF),
    (0x22C0, 0x22DF),
    (0x2340, 0x23DF),
    (0x2400, 0x241F),
    (0x2500, 0x275F),
    (0x2780, 0x27BF),
    (0x2800, 0x297F),
    (0x29A0, 0x29BF),
    (0x2A20, 0x2A5F),
    (0x2A80, 0x2ABF),
    (0x2AE0, 0x2B5F),
    (0x2C00, 0x2C1F),
    (0x2C80, 0x2CDF),
    (0x2D00, 0x2D1F),
    (0x2D40, 0x2D5F),
    (0x2EA0, 0x2EDF),
    (0x31C0, 0x31DF),
    (0x3400, 0x4D9F),
    (0x4DC0, 0x9FBF),
    (0xA000, 0xA47F),
    (0xA4A0, 0xA4BF),
    (0xA500, 0xA5FF),
    (0xA640, 0xA65F),
    (0xA6A0, 0xA6DF),
    (0xA700, 0xA75F),
    (0xA780, 0xA79F),
    (0xA840, 0xA85F),
];

/// The same for the 7-bit repertoire that ends an odd-length encoding.
const BLOCKS7: [u32; 4] = [0x180, 0x240, 0x260, 0x280];

fn blocks15() -> Vec<u32> {
    BLOCKS15
        .iter()
        .flat_map(|&(start, end)| (start..=end).step_by(32))
        .collect()
}

fn base32768_encode(bytes: &[u8]) -> String {
    let blocks = blocks15();
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        if bits >= 15 {
            bits -= 15;
            let z = (acc >> bits) & 0x7fff;
            out.push(char::from_u32(blocks[(z >> 5) as usize] + (z & 31)).unwrap());
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        if bits <= 7 {
            let z = ((acc << (7 - bits)) | ((1 << (7 - bits)) - 1)) & 0x7f;
            out.push(char::from_u32(BLOCKS7[(z >> 5) as usize] + (z & 31)).unwrap());
        } else {
            let z = ((acc << (15 - bits)) | ((1 << (15 - bits)) - 1)) & 0x7fff;
            out.push(char::from_u32(blocks[(z >> 5) as usize] + (z & 31)).unwrap());
        }
    }
    out
}

fn base32768_decode(text: &str) -> Result<Vec<u8>, String> {
    let blocks = blocks15();
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, c) in text.chars().enumerate() {
        if c == '\r' || c == '\n' {
            continue;
        }
        let cp = c as u32;
        let start = cp & !31;
        let (value, width) = if let Some(index) = blocks.iter().position(|&b| b == start) {
            ((index as u32) << 5 | (cp & 31), 15)
        } else if let Some(index) = BLOCKS7.iter().position(|&b| b == start) {
            ((index as u32) << 5 | (cp & 31), 7)
        } else {
            return Err(format!("bad base32768 filename encoding at character {i}"));
        };
        acc = (acc << width) | value;
        bits += width;
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
        if width == 7 {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rclone's encoding vectors: the prefixes of "1234567890123456".
    #[test]
    fn encodes_as_rclone() {
        let base32 = [
            "64",
            "64p0",
            "64p36",
            "64p36d0",
            "64p36d1l",
            "64p36d1l6o",
            "64p36d1l6org",
            "64p36d1l6orjg",
            "64p36d1l6orjge8",
            "64p36d1l6orjge9g",
            "64p36d1l6orjge9g64",
            "64p36d1l6orjge9g64p0",
            "64p36d1l6orjge9g64p36",
            "64p36d1l6orjge9g64p36d0",
            "64p36d1l6orjge9g64p36d1l",
            "64p36d1l6orjge9g64p36d1l6o",
        ];
        let base64 = [
            "MQ",
            "MTI",
            "MTIz",
            "MTIzNA",
            "MTIzNDU",
            "MTIzNDU2",
            "MTIzNDU2Nw",
            "MTIzNDU2Nzg",
            "MTIzNDU2Nzg5",
            "MTIzNDU2Nzg5MA",
            "MTIzNDU2Nzg5MDE",
            "MTIzNDU2Nzg5MDEy",
            "MTIzNDU2Nzg5MDEyMw",
            "MTIzNDU2Nzg5MDEyMzQ",
            "MTIzNDU2Nzg5MDEyMzQ1",
            "MTIzNDU2Nzg5MDEyMzQ1Ng",
        ];
        let base32768 = [
            "㼿",
            "㻙ɟ",
            "㻙ⲿ",
            "㻙ⲍƟ",
            "㻙ⲍ⍟",
            "㻙ⲍ⍆ʏ",
            "㻙ⲍ⍆觟",
            "㻙ⲍ⍆觓ɧ",
            "㻙ⲍ⍆觓栯",
            "㻙ⲍ⍆觓栩ɣ",
            "㻙ⲍ⍆觓栩朧",
            "㻙ⲍ⍆觓栩朤ʅ",
            "㻙ⲍ⍆觓栩朤談",
            "㻙ⲍ⍆觓栩朤諆ɔ",
            "㻙ⲍ⍆觓栩朤諆媕",
            "㻙ⲍ⍆觓栩朤諆媕䆿",
        ];
        let input = b"1234567890123456";
        for n in 1..=16 {
            let plain = &input[..n];
            for (encoding, expected) in [
                (Encoding::Base32, base32[n - 1]),
                (Encoding::Base64, base64[n - 1]),
                (Encoding::Base32768, base32768[n - 1]),
            ] {
                assert_eq!(encoding.encode(plain), expected, "{encoding:?} {n}");
                assert_eq!(
                    encoding.decode(expected).unwrap(),
                    plain,
                    "{encoding:?} {n}"
                );
            }
            assert_eq!(
                Encoding::Base32
                    .decode(&base32[n - 1].to_uppercase())
                    .unwrap(),
                plain
            );
        }
        assert!(Encoding::Base32.decode("64=").is_err());
        assert!(Encoding::Base32.decode("!").is_err());
        assert!(Encoding::Base64.decode("64=").is_err());
        assert!(Encoding::Base32768.decode("㼿c").is_err());
        assert_eq!(blocks15().len(), 1024);
    }
}
