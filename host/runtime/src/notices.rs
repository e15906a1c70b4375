//! What a plugin tells the user that is not an error (an overlay's
//! `below.notice`: names below it skipped because they do not decrypt,
//! objects that are not its own). Kept per remote for the front end to
//! show, bounded: a plugin that says too much, or too long, is cut, and
//! the cut is said.

use std::sync::{Arc, Mutex};

/// The most notices a remote keeps until they are taken.
const MAX_KEPT: usize = 100;

/// The most bytes of one notice kept.
const MAX_LEN: usize = 1024;

/// A remote's notices, shared by its instances.
#[derive(Clone, Default)]
pub struct Notices(Arc<Mutex<Log>>);

#[derive(Default)]
struct Log {
    kept: Vec<String>,
    dropped: u64,
}

impl Notices {
    /// Keeps `message`, made printable and cut to a bounded length.
    pub fn push(&self, message: &str) {
        let mut log = self.0.lock().unwrap();
        if log.kept.len() >= MAX_KEPT {
            log.dropped += 1;
            return;
        }
        let mut end = message.len().min(MAX_LEN);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let mut text = crate::printable(&message[..end]).into_owned();
        if end < message.len() {
            text.push_str(" […]");
        }
        log.kept.push(text);
    }

    /// Takes the notices kept so far, and says how many were left out.
    pub fn take(&self) -> Vec<String> {
        let mut log = self.0.lock().unwrap();
        let mut out = std::mem::take(&mut log.kept);
        if log.dropped > 0 {
            out.push(format!(
                "{} more notices were left out (at most {MAX_KEPT} are kept)",
                std::mem::take(&mut log.dropped)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_bounded_and_printable() {
        let notices = Notices::default();
        notices.push("a name \u{1b}[31m skipped");
        notices.push(&"é".repeat(MAX_LEN));
        for _ in 0..MAX_KEPT + 5 {
            notices.push("again");
        }
        let taken = notices.take();
        assert_eq!(taken.len(), MAX_KEPT + 1);
        assert!(!taken[0].contains('\u{1b}'), "{}", taken[0]);
        assert!(taken[1].ends_with(" […]") && taken[1].len() <= MAX_LEN + 8);
        assert_eq!(
            taken[MAX_KEPT],
            "7 more notices were left out (at most 100 are kept)"
        );
        assert!(notices.take().is_empty());
    }
}
