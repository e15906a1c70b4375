//! The one retry policy. An object gets `1 + retries` tries here, and
//! only for errors [`wharf::Error::is_transient`] calls transient; a
//! plugin may itself try each request a few times (the S3 and Dropbox
//! plugins make up to 5 tries), so one object reaches its backend at most
//! `(1 + retries) × the plugin's tries` times: 20 with the defaults.
//! Permanent errors (not found, permission denied, invalid key or
//! configuration, a crashed plugin) are never tried again.

use std::time::Duration;

/// The longest wait between tries, even when a backend asks for more.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// When to try an object again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Further tries after the first.
    pub retries: u32,
}

impl RetryPolicy {
    /// How long to wait before try `attempt + 1` after `error`, or `None`
    /// to give up.
    pub fn wait(&self, attempt: u32, error: &wharf::Error) -> Option<Duration> {
        if attempt >= self.retries || !error.is_transient() {
            return None;
        }
        // 1 s, 2 s, 4 s, 8 s, then 8 s: a rate limit's own wait wins.
        let backoff = Duration::from_millis(1000 << attempt.min(3));
        Some(error.retry_after().unwrap_or(backoff).min(MAX_WAIT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf::{Error, ErrorKind};

    #[test]
    fn transient_errors_are_retried_until_the_tries_run_out() {
        let policy = RetryPolicy { retries: 2 };
        let busy = Error::new(ErrorKind::Unavailable, "503");
        assert_eq!(policy.wait(0, &busy), Some(Duration::from_secs(1)));
        assert_eq!(policy.wait(1, &busy), Some(Duration::from_secs(2)));
        assert_eq!(policy.wait(2, &busy), None);
        let slow_down = Error::new(
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(300)),
            },
            "429",
        );
        assert_eq!(policy.wait(0, &slow_down), Some(MAX_WAIT));
    }

    #[test]
    fn permanent_errors_are_never_retried() {
        let policy = RetryPolicy { retries: 9 };
        for kind in [
            ErrorKind::NotFound,
            ErrorKind::PermissionDenied,
            ErrorKind::InvalidKey,
            ErrorKind::InvalidConfig,
            ErrorKind::PluginFailed,
            ErrorKind::Io,
        ] {
            assert_eq!(
                policy.wait(0, &Error::new(kind.clone(), "no")),
                None,
                "{kind:?}"
            );
        }
    }
}
