//! Object metadata from S3's headers and listings.

use std::time::UNIX_EPOCH;

use wharf_plugin::http::Response;
use wharf_plugin::{ObjectMeta, Timestamp};

/// What a HEAD or GET response says about the object at `key`.
pub fn from_headers(key: &str, response: &Response) -> ObjectMeta {
    let last_modified = response
        .header("last-modified")
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| Timestamp {
            seconds: d.as_secs() as i64,
            nanoseconds: d.subsec_nanos(),
        });
    ObjectMeta {
        key: key.to_owned(),
        size: response
            .header("content-length")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0),
        last_modified,
        etag: response.header("etag").map(str::to_owned),
        content_type: response.header("content-type").map(str::to_owned),
        metadata: response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                let name = name.strip_prefix("x-amz-meta-")?;
                Some((name.to_owned(), value.clone()))
            })
            .collect(),
    }
}

/// Parses S3's ISO 8601 times (`2026-11-24T05:00:00.000Z`).
pub fn parse_iso8601(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut nanoseconds = 0u32;
    if let Some(fraction) = text.get(20..).map(|rest| rest.trim_end_matches('Z')) {
        if bytes[19] == b'.' && !fraction.is_empty() && fraction.len() <= 9 {
            nanoseconds = fraction.parse::<u32>().ok()? * 10u32.pow(9 - fraction.len() as u32);
        }
    }
    wharf_plugin::time::utc_timestamp((year, month, day), (hour, minute, second), nanoseconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_times() {
        let t = parse_iso8601("2026-11-24T05:00:00.250Z").unwrap();
        assert_eq!(t.seconds, 1_795_496_400);
        assert_eq!(t.nanoseconds, 250_000_000);
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z").unwrap().seconds, 0);
        assert!(parse_iso8601("yesterday").is_none());
    }
}
