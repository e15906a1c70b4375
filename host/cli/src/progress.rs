//! Progress on a terminal, nothing otherwise: scripts and logs get only
//! the summary line.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// The progress display of one command.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A byte bar for one object of `size` bytes (if known), shown only
    /// when stderr is a terminal.
    pub fn bytes(size: Option<u64>, label: &str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress {
                bar: ProgressBar::hidden(),
            };
        }
        let bar = match size {
            Some(size) => ProgressBar::new(size).with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .unwrap()
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} {bytes} {binary_bytes_per_sec}")
                    .unwrap(),
            ),
        };
        bar.set_message(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar }
    }

    /// A counter of objects and bytes for a recursive transfer.
    pub fn objects() -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress {
                bar: ProgressBar::hidden(),
            };
        }
        let bar = ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {pos} objects, {msg} {elapsed}").unwrap(),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar }
    }

    /// Counts `n` more bytes.
    pub fn add_bytes(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Counts one more object and shows the bytes so far.
    pub fn add_object(&self, total_bytes: u64) {
        self.bar.inc(1);
        self.bar
            .set_message(indicatif::HumanBytes(total_bytes).to_string());
    }

    /// Removes the display.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
