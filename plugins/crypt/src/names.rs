//! Object names, encrypted as rclone's crypt encrypts them, one path
//! segment at a time (`filename_encryption`):
//!
//! - `standard`: PKCS#7-padded, EME over AES-256 with the name key and
//!   tweak, then encoded (`filename_encoding`); the same name always gives
//!   the same encrypted name, so lookups need no listing;
//! - `obfuscate`: a simple rotation keyed by the name key, which hides
//!   names from a glance and keeps their length;
//! - `off`: names as they are, with `suffix` (default `.bin`) added.
//!
//! Directory names are encrypted too unless `directory_name_encryption`
//! is false (then only the last segment is).

use aes::cipher::KeyInit;
use aes::Aes256;

use crate::eme::{self, Direction};
use crate::encoding::Encoding;
use crate::keys::Keys;

/// `filename_encryption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Standard,
    Obfuscate,
    Off,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text.to_ascii_lowercase().as_str() {
            "standard" => Some(Mode::Standard),
            "obfuscate" => Some(Mode::Obfuscate),
            "off" => Some(Mode::Off),
            _ => None,
        }
    }
}

/// `path` with each segment but the last through `directory` and the last
/// through `file`.
fn map_path(
    path: &str,
    directory: impl Fn(&str) -> Result<String, String>,
    file: impl Fn(&str) -> Result<String, String>,
) -> Result<String, String> {
    let (dirs, last) = match path.rsplit_once('/') {
        Some((dirs, last)) => (Some(dirs), last),
        None => (None, path),
    };
    let mut out = match dirs {
        Some(dirs) => {
            dirs.split('/')
                .map(&directory)
                .collect::<Result<Vec<_>, _>>()?
                .join("/")
                + "/"
        }
        None => String::new(),
    };
    out.push_str(&file(last)?);
    Ok(out)
}

/// Splits a version suffix (`-vYYYY-MM-DD-HHMMSS-mmm`, as rclone's
/// `--suffix`-style versions name files) off the last segment before its
/// extension: `("a.txt", "-v2001-02-03-040506-123")` for
/// `a-v2001-02-03-040506-123.txt`. rclone keeps it outside the encrypted
/// name, so it is kept outside here too.
fn split_version(name: &str) -> Option<(String, &str)> {
    let (base, ext) = match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    };
    if base.len() < 23 || !base.is_char_boundary(base.len() - 23) {
        return None;
    }
    let (stem, version) = base.split_at(base.len() - 23);
    valid_version(version).then(|| (format!("{stem}{ext}"), version))
}

/// `-vYYYY-MM-DD-HHMMSS-mmm` with a real date and time.
fn valid_version(v: &str) -> bool {
    let b = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r.clone()].iter().all(u8::is_ascii_digit);
    let shape = b.len() == 23
        && &b[..2] == b"-v"
        && b[6] == b'-'
        && b[9] == b'-'
        && b[12] == b'-'
        && b[19] == b'-'
        && digits(2..6)
        && digits(7..9)
        && digits(10..12)
        && digits(13..19)
        && digits(20..23);
    if !shape {
        return false;
    }
    let n = |r: std::ops::Range<usize>| v[r].parse::<u32>().unwrap_or(u32::MAX);
    let (year, month, day) = (n(2..6), n(7..9), n(10..12));
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day) && n(13..15) < 24 && n(15..17) < 60 && n(17..19) < 60
}

/// `name` with `version` put back before its extension.
fn add_version(name: &str, version: &str) -> String {
    match name.rfind('.') {
        Some(i) if i > 0 => format!("{}{version}{}", &name[..i], &name[i..]),
        _ => format!("{name}{version}"),
    }
}

/// The longest plaintext segment `standard` takes: EME's 2048 bytes less
/// at least one byte of padding.
pub const MAX_SEGMENT: usize = 2047;

/// Encrypts and decrypts names.
pub struct Names {
    mode: Mode,
    encoding: Encoding,
    directories: bool,
    suffix: String,
    cipher: Aes256,
    tweak: [u8; 16],
    key_sum: u32,
}

impl Names {
    pub fn new(
        keys: &Keys,
        mode: Mode,
        encoding: Encoding,
        directories: bool,
        suffix: &str,
    ) -> Names {
        Names {
            mode,
            encoding,
            directories,
            suffix: suffix.to_owned(),
            cipher: Aes256::new(&keys.name.into()),
            tweak: keys.tweak,
            key_sum: keys.name.iter().map(|&b| b as u32).sum(),
        }
    }

    /// Whether directory names are encrypted.
    pub fn encrypts_directories(&self) -> bool {
        self.directories && self.mode != Mode::Off
    }

    /// The name below for object `key`: its last segment as a file name,
    /// the others as directory names.
    pub fn encrypt_key(&self, key: &str) -> Result<String, String> {
        map_path(
            key,
            |s| self.encrypt_directory(s),
            |s| self.encrypt_file_segment(s),
        )
    }

    /// The key of the object named `name` below.
    pub fn decrypt_key(&self, name: &str) -> Result<String, String> {
        map_path(
            name,
            |s| self.decrypt_directory(s),
            |s| self.decrypt_file_segment(s),
        )
    }

    /// The name below of directory segment `segment`.
    pub fn encrypt_directory(&self, segment: &str) -> Result<String, String> {
        if self.encrypts_directories() {
            self.encrypt_segment(segment)
        } else {
            Ok(segment.to_owned())
        }
    }

    /// The directory segment named `name` below.
    pub fn decrypt_directory(&self, name: &str) -> Result<String, String> {
        if self.encrypts_directories() {
            self.decrypt_segment(name)
        } else {
            Ok(name.to_owned())
        }
    }

    /// The name below of the last segment of an object's key.
    pub fn encrypt_file_segment(&self, segment: &str) -> Result<String, String> {
        match self.mode {
            Mode::Off => Ok(format!("{segment}{}", self.suffix)),
            _ => match split_version(segment) {
                Some((stem, version)) => Ok(add_version(&self.encrypt_segment(&stem)?, version)),
                None => self.encrypt_segment(segment),
            },
        }
    }

    /// The last segment of the key of the object named `name` below.
    pub fn decrypt_file_segment(&self, name: &str) -> Result<String, String> {
        match self.mode {
            Mode::Off => match name.strip_suffix(self.suffix.as_str()) {
                Some(key) if !key.is_empty() || self.suffix.is_empty() => Ok(key.to_owned()),
                _ => Err("not an encrypted file - does not match suffix".into()),
            },
            _ => match split_version(name) {
                Some((stem, version)) => Ok(add_version(&self.decrypt_segment(&stem)?, version)),
                None => self.decrypt_segment(name),
            },
        }
    }

    fn encrypt_segment(&self, segment: &str) -> Result<String, String> {
        if segment.is_empty() {
            return Ok(String::new());
        }
        match self.mode {
            Mode::Standard => {
                if segment.len() > MAX_SEGMENT {
                    return Err(format!(
                        "a name segment of {} bytes is too long to encrypt (at most {MAX_SEGMENT})",
                        segment.len()
                    ));
                }
                let mut padded = segment.as_bytes().to_vec();
                let pad = 16 - padded.len() % 16;
                padded.extend(std::iter::repeat_n(pad as u8, pad));
                let sealed = eme::transform(&self.cipher, &self.tweak, &padded, Direction::Encrypt);
                Ok(self.encoding.encode(&sealed))
            }
            Mode::Obfuscate => Ok(self.obfuscate(segment)),
            Mode::Off => Ok(segment.to_owned()),
        }
    }

    fn decrypt_segment(&self, name: &str) -> Result<String, String> {
        if name.is_empty() {
            return Ok(String::new());
        }
        match self.mode {
            Mode::Standard => {
                let sealed = self.encoding.decode(name)?;
                if !sealed.len().is_multiple_of(16) {
                    return Err("not a multiple of blocksize".into());
                }
                if sealed.is_empty() {
                    return Err("too short after decoding".into());
                }
                if sealed.len() > eme::MAX_BLOCKS * 16 {
                    return Err("too long after decoding".into());
                }
                let mut padded =
                    eme::transform(&self.cipher, &self.tweak, &sealed, Direction::Decrypt);
                let pad = *padded.last().expect("not empty") as usize;
                if pad == 0
                    || pad > 16
                    || padded[padded.len() - pad..]
                        .iter()
                        .any(|&b| b as usize != pad)
                {
                    return Err("bad PKCS#7 padding".into());
                }
                padded.truncate(padded.len() - pad);
                String::from_utf8(padded).map_err(|_| "the name is not UTF-8 once decrypted".into())
            }
            Mode::Obfuscate => self.deobfuscate(name),
            Mode::Off => Ok(name.to_owned()),
        }
    }

    fn obfuscate(&self, plain: &str) -> String {
        let sum: u32 = plain.chars().map(|c| c as u32).sum();
        let prefix = sum % 256;
        let dir = prefix + self.key_sum;
        let mut out = format!("{prefix}.");
        for c in plain.chars() {
            let r = c as u32;
            let shifted = if c == '!' {
                out.push('!');
                r
            } else if c.is_ascii_digit() {
                let k = dir % 9 + 1;
                '0' as u32 + (r - '0' as u32 + k) % 10
            } else if c.is_ascii_alphabetic() {
                let k = dir % 25 + 1;
                let mut pos = r - 'A' as u32;
                if pos >= 26 {
                    pos -= 6;
                }
                pos = (pos + k) % 52;
                if pos >= 26 {
                    pos += 6;
                }
                'A' as u32 + pos
            } else if (0xA0..=0xFF).contains(&r) {
                let k = dir % 95 + 1;
                0xA0 + (r - 0xA0 + k) % 96
            } else if r >= 0x100 {
                let k = dir % 127 + 1;
                let base = r - r % 256;
                base + (r - base + k) % 256
            } else {
                r
            };
            match char::from_u32(shifted) {
                Some(c) => out.push(c),
                None => {
                    out.push('!');
                    out.push(c);
                }
            }
        }
        out
    }

    fn deobfuscate(&self, name: &str) -> Result<String, String> {
        let bad = || "not an encrypted file - does not match suffix".to_owned();
        let (prefix, rest) = name.split_once('.').ok_or_else(bad)?;
        if prefix == "!" {
            return Ok(rest.to_owned());
        }
        let dir = prefix.parse::<i64>().map_err(|_| bad())? as u32 + self.key_sum;
        let mut out = String::with_capacity(rest.len());
        let mut quoted = false;
        for c in rest.chars() {
            if quoted {
                out.push(c);
                quoted = false;
                continue;
            }
            let r = c as u32;
            let plain = if c == '!' {
                quoted = true;
                continue;
            } else if c.is_ascii_digit() {
                let k = dir % 9 + 1;
                let mut v = r as i64 - k as i64;
                if v < '0' as i64 {
                    v += 10;
                }
                v as u32
            } else if c.is_ascii_alphabetic() {
                let k = (dir % 25 + 1) as i64;
                let mut pos = r as i64 - 'A' as i64;
                if pos >= 26 {
                    pos -= 6;
                }
                pos -= k;
                if pos < 0 {
                    pos += 52;
                }
                if pos >= 26 {
                    pos += 6;
                }
                ('A' as i64 + pos) as u32
            } else if (0xA0..=0xFF).contains(&r) {
                let k = dir % 95 + 1;
                let mut v = r as i64 - k as i64;
                if v < 0xA0 {
                    v += 96;
                }
                v as u32
            } else if r >= 0x100 {
                let k = dir % 127 + 1;
                let base = r - r % 256;
                let mut v = r as i64 - k as i64;
                if v < base as i64 {
                    v += 256;
                }
                v as u32
            } else {
                r
            };
            out.push(char::from_u32(plain).ok_or_else(bad)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(password: &str, mode: Mode, encoding: Encoding) -> Names {
        let keys = Keys::derive_with(password, "", crate::keys::native_scrypt).unwrap();
        Names::new(&keys, mode, encoding, true, ".bin")
    }

    /// rclone's `TestEncryptSegment*` vectors (zero key).
    #[test]
    fn encrypts_segments_as_rclone() {
        let base32 = [
            "p0e52nreeaj0a5ea7s64m4j72s",
            "l42g6771hnv3an9cgc8cr2n1ng",
            "qgm4avr35m5loi1th53ato71v0",
            "8ivr2e9plj3c3esisjpdisikos",
            "rh9vu63q3o29eqmj4bg6gg7s44",
            "bn717l3alepn75b2fb2ejmi4b4",
            "n6bo9jmb1qe3b1ogtj5qkf19k8",
            "u9t24j7uaq94dh5q53m3s4t9ok",
            "37hn305g6j12d1g0kkrl7ekbs4",
            "ot8d91eplaglb62k2b1trm2qv0",
            "h168vvrgb53qnrtvvmb378qrcs",
            "s3hsdf9e29ithrqbjqu01t8q2s",
            "cf3jimlv1q2oc553mv7s3mh3eo",
            "moq0uqdlqrblrc5pa5u5c7hq9g",
            "eeam3li4rnommi3a762h5n7meg",
            "mijbj0frqf6ms7frcr6bd9h0env53jv96pjaaoirk7forcgpt70g",
        ];
        let base64 = [
            "yBxRX25ypgUVyj8MSxJnFw",
            "qQUDHOGN_jVdLIMQzYrhvA",
            "1CxFf2Mti1xIPYlGruDh-A",
            "RL-xOTmsxsG7kuTy2XJUxw",
            "3FP_GHoeBJdq0yLgaED8IQ",
            "Xc4T1Gqrs3OVYnrE6dpEWQ",
            "uZeEzssOnDWHEOzLqjwpog",
            "8noiTP5WkkbEuijsPhOpxQ",
            "GeNxgLA0wiaGAKU3U7qL4Q",
            "x1DUhdmqoVWYVBLD3dha-A",
            "iEyP_3BZR6vvv_2WM6NbZw",
            "4OPGvS4SZdjvS568APUaFw",
            "Y8c5Wr8OhYYUo7fPwdojdg",
            "tjQPabXW112wuVF8Vh46TA",
            "c5Vh1kTd8WtIajmFEtz2dA",
            "tKa5gfvTzW4d-2bMtqYgdf5Rz-k2ZqViW6HfjbIZ6cE",
        ];
        let base32768 = [
            "詮㪗鐮僀伎作㻖㢧⪟",
            "竢朧䉱虃光塬䟛⣡蓟",
            "遶㞟鋅缕袡鲅ⵝ蝁ꌟ",
            "䢟銮䵵狌㐜燳谒颴詟",
            "钉Ꞇ㖃蚩憶狫朰杜㜿",
            "啇ᚵⵕ憗䋫➫➓肤卟",
            "茫螓翁連劘樓㶔抉矟",
            "龝☳䘊辄岅較络㧩襟",
            "ⲱ苀㱆犂媐Ꮤ锇惫靟",
            "計宁憕偵匢皫╛纺ꌟ",
            "檆䨿鑫㪺藝ꡖ勇䦛婟",
            "雑頏䰂䲝淚哚鹡魺⪟",
            "塃璶繁躸圅㔟䗃肃懟",
            "腺ᕚ崚鏕鏥讥鼌䑺䲿",
            "怪绕滻蕶肣但⠥荖惟",
            "肳哀旚挶靏鏻㾭䱠慟㪳ꏆ賊兲铧敻塹魀ʟ",
        ];
        let input = "1234567890123456";
        for (encoding, expected) in [
            (Encoding::Base32, base32),
            (Encoding::Base64, base64),
            (Encoding::Base32768, base32768),
        ] {
            let names = names("", Mode::Standard, encoding);
            for n in 1..=16 {
                let plain = &input[..n];
                assert_eq!(
                    names.encrypt_key(plain).unwrap(),
                    expected[n - 1],
                    "{encoding:?} {n}"
                );
                assert_eq!(names.decrypt_key(expected[n - 1]).unwrap(), plain);
            }
        }
    }

    #[test]
    fn encrypts_paths_as_rclone() {
        let std = names("", Mode::Standard, Encoding::Base32);
        assert_eq!(
            std.encrypt_key("1/12/123").unwrap(),
            "p0e52nreeaj0a5ea7s64m4j72s/l42g6771hnv3an9cgc8cr2n1ng/qgm4avr35m5loi1th53ato71v0"
        );
        let flat = Names::new(
            &Keys::derive("", "").unwrap(),
            Mode::Standard,
            Encoding::Base32,
            false,
            ".bin",
        );
        assert_eq!(
            flat.encrypt_key("1/12/123").unwrap(),
            "1/12/qgm4avr35m5loi1th53ato71v0"
        );
        let off = names("", Mode::Off, Encoding::Base32);
        assert_eq!(off.encrypt_key("1/12/123").unwrap(), "1/12/123.bin");
        assert!(off.decrypt_key("1/12/123.bix").is_err());
        let obf = names("", Mode::Obfuscate, Encoding::Base32);
        assert_eq!(
            obf.encrypt_key("1/12/123/!hello").unwrap(),
            "49.6/99.23/150.890/53.!!lipps"
        );
        assert_eq!(obf.encrypt_key("¡").unwrap(), "161.ä");
        assert_eq!(obf.encrypt_key("Π").unwrap(), "160.ς");
        assert_eq!(
            obf.decrypt_key("49.6/99.23/150.890/53.!!lipps").unwrap(),
            "1/12/123/!hello"
        );
        assert_eq!(obf.decrypt_key("!.hello").unwrap(), "hello");
        for plain in ["1/2/3/4/!helloΠ", "Avatar The Last Airbender"] {
            assert_eq!(
                obf.decrypt_key(&obf.encrypt_key(plain).unwrap()).unwrap(),
                plain
            );
        }
        // Version suffixes stay outside the encrypted name (rclone's vectors).
        assert_eq!(
            std.encrypt_key("1-v2001-02-03-040506-123").unwrap(),
            "p0e52nreeaj0a5ea7s64m4j72s-v2001-02-03-040506-123"
        );
        assert_eq!(
            std.encrypt_key("1/12-v2001-02-03-040506-123").unwrap(),
            "p0e52nreeaj0a5ea7s64m4j72s/l42g6771hnv3an9cgc8cr2n1ng-v2001-02-03-040506-123"
        );
        assert_eq!(
            std.decrypt_key(
                "p0e52nreeaj0a5ea7s64m4j72s/l42g6771hnv3an9cgc8cr2n1ng-v2001-02-03-040506-123"
            )
            .unwrap(),
            "1/12-v2001-02-03-040506-123"
        );
        assert_eq!(
            obf.encrypt_key("1/12/123/hello-v2001-02-03-040506-123.txt")
                .unwrap(),
            "49.6/99.23/150.890/162.uryyB-v2001-02-03-040506-123.GKG"
        );
        assert_eq!(
            obf.encrypt_key("1/12/123/!hello-v2001-02-03-040506-123")
                .unwrap(),
            "49.6/99.23/150.890/53-v2001-02-03-040506-123.!!lipps"
        );
        assert_eq!(
            obf.decrypt_key("49.6/99.23/150.890/162.uryyB-v2001-02-03-040506-123.GKG")
                .unwrap(),
            "1/12/123/hello-v2001-02-03-040506-123.txt"
        );
        // Not a real time: part of the name.
        assert!(split_version("a-v2001-02-30-040506-123").is_none());
        assert_eq!(
            off.decrypt_key("1/12/123-v1970-01-01-010101-123-v2001-02-03-040506-123.txt.bin")
                .unwrap(),
            "1/12/123-v1970-01-01-010101-123-v2001-02-03-040506-123.txt"
        );
        // With a real password (vectors computed from rclone's algorithm).
        let potato = names("potato", Mode::Standard, Encoding::Base32);
        assert_eq!(
            potato.encrypt_key("hello").unwrap(),
            "gu7ur447e1rcqnuuimpms8j88o"
        );
        let potato = names("potato", Mode::Obfuscate, Encoding::Base32);
        assert_eq!(
            potato.encrypt_key("Hello World 123!.txt").unwrap(),
            "129.Jgnnq Yqtnf 234!!.vzv"
        );
    }
}
