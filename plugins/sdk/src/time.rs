//! Time for backends: the clock, waiting between retries, and calendar
//! arithmetic for the timestamps backends report as text (HTTP dates,
//! ISO 8601, FTP's `YYYYMMDDHHMMSS`).

use std::time::Duration;

use crate::Timestamp;

/// Blocks for `duration` on the host's monotonic clock. The host's time
/// limit per call still runs: a plugin cannot wait past it.
pub fn sleep(duration: Duration) {
    let nanoseconds = duration.as_nanos().min(u64::MAX as u128) as u64;
    wasip2::clocks::monotonic_clock::subscribe_duration(nanoseconds).block();
}

/// How long to wait before retry number `attempt` (1 for the first):
/// `base` doubled for each earlier retry (at most 64 × `base`), plus up
/// to as much again at random, so that many clients backing off after
/// the same failure do not retry in step.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let step = base.saturating_mul(1 << attempt.saturating_sub(1).min(6));
    let step_ms = step.as_millis().min(u64::MAX as u128) as u64;
    let jitter_ms = match step_ms {
        0 => 0,
        ms => wasip2::random::random::get_random_u64() % ms,
    };
    step + Duration::from_millis(jitter_ms)
}

/// The current time from the host's wall clock, for backends that stamp
/// their own objects.
pub fn now() -> Timestamp {
    let now = wasip2::clocks::wall_clock::now();
    Timestamp {
        seconds: now.seconds as i64,
        nanoseconds: now.nanoseconds,
    }
}

/// The UTC date and time given, as a [`Timestamp`]; `None` if a field is
/// out of range.
pub fn utc_timestamp(
    (year, month, day): (i64, i64, i64),
    (hour, minute, second): (i64, i64, i64),
    nanoseconds: u32,
) -> Option<Timestamp> {
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..=60).contains(&second)
        && nanoseconds < 1_000_000_000;
    valid.then(|| Timestamp {
        seconds: days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second,
        nanoseconds,
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
