//! The content type rclone's compress records in the metadata object when
//! the writer gives none: a guess from the first bytes, as rclone guesses
//! (rclone stores it and gives it back; nothing reads it).

/// The content type of content that starts with `sample`.
pub fn content_type(sample: &[u8]) -> &'static str {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b", "application/gzip"),
        (b"\x28\xb5\x2f\xfd", "application/zstd"),
        (b"RIFF", "application/octet-stream"),
    ];
    if let Some((_, kind)) = MAGIC.iter().find(|(magic, _)| sample.starts_with(magic)) {
        return kind;
    }
    // Text: UTF-8 (a character cut at the end of the sample allowed) with
    // no control characters but whitespace.
    let text = match std::str::from_utf8(sample) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&sample[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return "application/octet-stream",
    };
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c'))
    {
        return "application/octet-stream";
    }
    "text/plain; charset=utf-8"
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn guesses_from_the_first_bytes() {
        assert_eq!(content_type(b"hello\nworld"), "text/plain; charset=utf-8");
        assert_eq!(
            content_type("caf\u{e9}".as_bytes()),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            content_type(&"caf\u{e9}".as_bytes()[..4]),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(content_type(&[0, 1, 2, 3]), "application/octet-stream");
        assert_eq!(
            content_type(&[0xff, 0xfe, 0x41]),
            "application/octet-stream"
        );
    }
}
