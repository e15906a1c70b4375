//! How rclone's compress names the two objects it keeps for each of its
//! own: the data object `<name>.<size>.gz` (or `<name>.bin` when the
//! content is stored as it is) and the metadata object `<name>.json`. The
//! size in a data name is the content's, uncompressed: eight bytes,
//! little-endian, in URL-safe base64 without padding (always 11
//! characters).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// How the data object holds the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As it is (`.bin`), rclone's mode 0.
    Stored,
    /// gzip in 1 MiB blocks (`.gz`), rclone's mode 2.
    Gzip,
    /// Zstandard's seekable format (`.zst`), rclone's mode 4.
    Zstd,
}

impl Mode {
    /// rclone's number for the mode, as the metadata object holds it.
    pub fn number(self) -> i64 {
        match self {
            Mode::Stored => 0,
            Mode::Gzip => 2,
            Mode::Zstd => 4,
        }
    }
}

/// Where the metadata object of `key` is.
pub fn metadata_name(key: &str) -> String {
    format!("{key}.json")
}

/// The data object of `key`, holding `size` bytes of content in `mode`.
pub fn data_name(key: &str, mode: Mode, size: u64) -> String {
    match mode {
        Mode::Stored => format!("{key}.bin"),
        Mode::Gzip => format!("{key}.{}.gz", size_token(size as i64)),
        Mode::Zstd => format!("{key}.{}.zst", size_token(size as i64)),
    }
}

/// The size as rclone writes it into a name.
pub fn size_token(size: i64) -> String {
    URL_SAFE_NO_PAD.encode(size.to_le_bytes())
}

/// What a name below is, for a listing.
#[derive(Debug, PartialEq, Eq)]
pub enum Listed {
    /// A metadata object (or one of ours being written): never listed.
    Hidden,
    /// A data object: its key above, and the content's size if the name
    /// holds it (`None` for `.bin`, whose stored size is the content's).
    Data { key: String, size: Option<u64> },
    /// A name rclone's compress would not have written: skipped, as rclone
    /// skips it.
    Foreign,
}

/// Reads a name below as rclone does: the extension after the last `.`;
/// `.bin` is stored content; any other is compressed, and the name before
/// it must end with `.` and an 11-character size.
pub fn parse(name: &str) -> Listed {
    if name.ends_with(".json") {
        return Listed::Hidden;
    }
    let Some((rest, extension)) = name.rsplit_once('.') else {
        return Listed::Foreign;
    };
    if extension == "bin" {
        return match rest.is_empty() {
            true => Listed::Foreign,
            false => Listed::Data {
                key: rest.to_owned(),
                size: None,
            },
        };
    }
    let Some((key, token)) = rest.rsplit_once('.') else {
        return Listed::Foreign;
    };
    let alphabet = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    if key.is_empty() || token.len() != 11 || !token.bytes().all(alphabet) {
        return Listed::Foreign;
    }
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(token) else {
        return Listed::Foreign;
    };
    let Ok(bytes) = <[u8; 8]>::try_from(bytes) else {
        return Listed::Foreign;
    };
    match i64::from_le_bytes(bytes) {
        // A negative size is rclone's name for an upload in progress.
        size if size < 0 => Listed::Foreign,
        size => Listed::Data {
            key: key.to_owned(),
            size: Some(size as u64),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_written_as_rclone_writes_them() {
        assert_eq!(size_token(1234), "0gQAAAAAAAA");
        assert_eq!(size_token(0), "AAAAAAAAAAA");
        assert_eq!(size_token(1048576), "AAAQAAAAAAA");
        assert_eq!(size_token(2621440), "AAAoAAAAAAA");
        assert_eq!(size_token(-1), "__________8");
        assert_eq!(
            data_name("file.txt", Mode::Gzip, 1234),
            "file.txt.0gQAAAAAAAA.gz"
        );
        assert_eq!(data_name("photo.jpg", Mode::Stored, 9), "photo.jpg.bin");
        assert_eq!(metadata_name("x.json"), "x.json.json");
    }

    #[test]
    fn names_below_read_back() {
        let data = |key: &str, size| Listed::Data {
            key: key.into(),
            size,
        };
        assert_eq!(
            parse("file.txt.0gQAAAAAAAA.gz"),
            data("file.txt", Some(1234))
        );
        assert_eq!(parse("x.json.okYCAAAAAAA.gz"), data("x.json", Some(149154)));
        // rclone does not check the extension against the mode.
        assert_eq!(parse("a.AAAQAAAAAAA.zst"), data("a", Some(1048576)));
        assert_eq!(parse("photo.jpg.bin"), data("photo.jpg", None));
        assert_eq!(parse("x.json"), Listed::Hidden);
        assert_eq!(parse("x.json.json"), Listed::Hidden);
        assert_eq!(parse("README"), Listed::Foreign);
        assert_eq!(parse(".bin"), Listed::Foreign);
        assert_eq!(parse("a.short.gz"), Listed::Foreign);
        assert_eq!(parse("a.__________8.gz"), Listed::Foreign);
        assert_eq!(parse(".AAAQAAAAAAA.gz"), Listed::Foreign);
    }
}
