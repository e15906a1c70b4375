//! Times as rclone writes them.

use wharf::Timestamp;

use crate::fail::civil_from_days;

/// rclone's time for an object or directory with none: 2000-01-01.
pub const DEFAULT_TIME: Timestamp = Timestamp {
    seconds: 946_684_800,
    nanoseconds: 0,
};

fn parts(t: &Timestamp) -> (i64, u32, u32, i64, i64, i64) {
    let (days, rest) = (t.seconds.div_euclid(86_400), t.seconds.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rest / 3600, rest % 3600 / 60, rest % 60)
}

/// RFC 3339 with the nanoseconds rclone's `lsjson` prints, trailing zeros
/// dropped as Go's `RFC3339Nano` drops them.
pub fn rfc3339(t: &Timestamp) -> String {
    let (y, m, d, hh, mm, ss) = parts(t);
    let mut out = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}");
    if t.nanoseconds > 0 {
        let nanos = format!("{:09}", t.nanoseconds);
        out.push('.');
        out.push_str(nanos.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// `lsl`'s layout: `2006-01-02 15:04:05.000000000`.
pub fn lsl(t: &Timestamp) -> String {
    let (y, m, d, hh, mm, ss) = parts(t);
    format!(
        "{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}.{:09}",
        t.nanoseconds
    )
}

/// `lsd`'s layout: `2006-01-02 15:04:05`.
pub fn lsd(t: &Timestamp) -> String {
    let (y, m, d, hh, mm, ss) = parts(t);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_rclone() {
        let t = Timestamp {
            seconds: 1_796_242_389,
            nanoseconds: 869_009_042,
        };
        assert_eq!(rfc3339(&t), "2026-12-02T20:13:09.869009042Z");
        assert_eq!(lsl(&t), "2026-12-02 20:13:09.869009042");
        assert_eq!(rfc3339(&DEFAULT_TIME), "2000-01-01T00:00:00Z");
        let round = Timestamp {
            seconds: 1_796_242_389,
            nanoseconds: 500_000_000,
        };
        assert_eq!(rfc3339(&round), "2026-12-02T20:13:09.5Z");
    }
}
