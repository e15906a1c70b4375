//! Calendar arithmetic for the timestamps backends report as text (HTTP
//! dates, ISO 8601, FTP's `YYYYMMDDHHMMSS`).

use crate::Timestamp;

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
