//! How a command fails, as rclone fails: an exit code of rclone's (0
//! success, 1 uncategorised, 2 usage, 3 directory not found, 4 file not
//! found, 5 temporary, 9 nothing transferred with `--error-on-no-transfer`)
//! and its message style on stderr (`YYYY/MM/DD HH:MM:SS LEVEL : text`).

use std::time::{SystemTime, UNIX_EPOCH};

use wharf::ErrorKind;

/// rclone's exit codes.
pub const USAGE: i32 = 2;
pub const DIR_NOT_FOUND: i32 = 3;
pub const FILE_NOT_FOUND: i32 = 4;
pub const TEMPORARY: i32 = 5;
pub const NO_TRANSFER: i32 = 9;

/// A command's failure: the exit code and what to say.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// A wrong command line (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(USAGE, message)
    }

    /// A missing directory (exit 3), for commands that work on one.
    pub fn dir_not_found(error: wharf::Error) -> Self {
        Failure::new(DIR_NOT_FOUND, format!("directory not found: {error}"))
    }
}

impl From<wharf::Error> for Failure {
    fn from(error: wharf::Error) -> Self {
        let code = match error.kind() {
            ErrorKind::NotFound => FILE_NOT_FOUND,
            ErrorKind::RateLimited { .. } | ErrorKind::Unavailable => TEMPORARY,
            _ => 1,
        };
        Failure::new(code, error.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        let code = match error.kind() {
            std::io::ErrorKind::NotFound => FILE_NOT_FOUND,
            _ => 1,
        };
        Failure::new(code, error.to_string())
    }
}

/// One line on stderr in rclone's format: `2026/12/02 20:13:37 ERROR : …`.
pub fn log(level: &str, text: &str) {
    crate::progress::log_line(&format!(
        "{} {level:<6}: {}",
        timestamp(),
        wharf::printable(text)
    ));
}

/// Local time is what rclone prints; without a time zone database at hand
/// Wharf prints UTC, in rclone's layout.
fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}/{m:02}/{d:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The calendar date of a day count since 1970-01-01 (proleptic
/// Gregorian).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_789), (2026, 12, 2));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
