//! What a transfer shows the user: a progress display on a terminal
//! (objects done of those found, bytes, rate, ETA), one line per object
//! otherwise, JSON lines with `--json`, and a summary at the end. The
//! engine's events in, text out; nothing else happens here.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use serde_json::json;
use wharf_transfer::{Event, Mode, Observer, Summary, Verified};

use super::Settings;

/// Renders one transfer's events. Cheap to clone; clones share the
/// display.
#[derive(Clone)]
pub struct Reporter {
    inner: Arc<Inner>,
}

struct Inner {
    bar: ProgressBar,
    /// The engine's counts as they grow, for the display.
    seen: Mutex<Summary>,
    json: bool,
    dry_run: bool,
    verbose: bool,
    mode: Mode,
    start: Instant,
}

impl Reporter {
    pub fn new(mode: Mode, settings: &Settings) -> Self {
        let bar = if std::io::stderr().is_terminal() && !settings.json {
            let bar = ProgressBar::new(0).with_style(
                ProgressStyle::with_template(
                    "{spinner} {msg}  {bytes}/{total_bytes}  {binary_bytes_per_sec}  eta {eta}",
                )
                .unwrap(),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        } else {
            ProgressBar::hidden()
        };
        Reporter {
            inner: Arc::new(Inner {
                bar,
                seen: Mutex::new(Summary::default()),
                json: settings.json,
                dry_run: settings.options.dry_run,
                verbose: settings.verbose,
                mode,
                start: Instant::now(),
            }),
        }
    }

    fn verb(&self) -> &'static str {
        if self.inner.mode == Mode::Move {
            "moved"
        } else {
            "copied"
        }
    }

    /// The line (empty: none) and the JSON of `event`.
    fn render(&self, event: &Event) -> Option<(String, serde_json::Value)> {
        let verb = self.verb();
        Some(match event {
            Event::Copied {
                rel,
                bytes,
                verified,
            } => {
                let how = match verified {
                    Verified::ServerSide => "server-side".to_owned(),
                    Verified::Hash(kind) => kind.clone(),
                    Verified::Backend => "backend".to_owned(),
                    Verified::Size => "size".to_owned(),
                };
                (
                    format!("{verb} {rel} ({}, verified by {how})", HumanBytes(*bytes)),
                    json!({"event": verb, "key": rel, "bytes": bytes, "verified": how}),
                )
            }
            Event::Skipped { rel } => (
                String::new(),
                json!({"event": "skipped", "key": rel, "why": "unchanged"}),
            ),
            Event::Deleted { rel } => (
                format!("deleted {rel}"),
                json!({"event": "deleted", "key": rel}),
            ),
            Event::Retrying {
                rel,
                attempt,
                error,
            } => (
                format!("retrying {rel} (try {}): {error}", attempt + 1),
                json!({"event": "retrying", "key": rel, "attempt": attempt, "error": error.to_string()}),
            ),
            Event::Failed { rel, error } => (
                format!("FAILED {rel}: {error}"),
                json!({"event": "failed", "key": rel, "error": error.to_string()}),
            ),
            Event::WouldCopy { rel, bytes } => {
                let verb = if self.inner.mode == Mode::Move {
                    "move"
                } else {
                    "copy"
                };
                (
                    format!("would {verb} {rel} ({})", HumanBytes(*bytes)),
                    json!({"event": format!("would-{verb}"), "key": rel, "bytes": bytes}),
                )
            }
            Event::WouldDelete { rel } => (
                format!("would delete {rel}"),
                json!({"event": "would-delete", "key": rel}),
            ),
            Event::Missing { rel } => (
                format!("missing in the destination: {rel}"),
                json!({"event": "missing", "key": rel}),
            ),
            Event::Extra { rel } => (
                format!("only in the destination: {rel}"),
                json!({"event": "extra", "key": rel}),
            ),
            Event::Same { rel, by } => (
                String::new(),
                json!({"event": "same", "key": rel, "by": by}),
            ),
            Event::Differs { rel, why } => (
                format!("differs: {rel}: {why}"),
                json!({"event": "differs", "key": rel, "why": why}),
            ),
            Event::SizeOnly { rel } => (
                String::new(),
                json!({"event": "same", "key": rel, "by": "size"}),
            ),
            Event::Note(note) => (
                format!("note: {note}"),
                json!({"event": "note", "message": note}),
            ),
            _ => return None,
        })
    }

    /// Objects done of those found, as the bar's message. The bar counts
    /// bytes, so that its rate and ETA are about what takes time; both
    /// totals grow as the listing goes on.
    fn show_progress(&self, event: &Event) {
        let mut s = self.inner.seen.lock().unwrap();
        match event {
            Event::Planned { bytes, .. } => {
                s.planned += 1;
                s.planned_bytes += bytes.unwrap_or(0);
                self.inner.bar.set_length(s.planned_bytes);
            }
            Event::Progress { bytes, .. } => {
                self.inner.bar.inc(*bytes);
                return;
            }
            Event::Copied { .. } | Event::Deleted { .. } | Event::Failed { .. } => s.copied += 1,
            Event::Same { .. } | Event::Differs { .. } | Event::SizeOnly { .. } => s.same += 1,
            // Found without a job: counted as found and done at once.
            Event::Skipped { .. } | Event::Missing { .. } | Event::Extra { .. } => s.skipped += 1,
            _ => return,
        }
        let done = s.copied + s.same + s.skipped;
        let found = s.planned + s.skipped;
        self.inner
            .bar
            .set_message(format!("{done}/{} objects", found.max(done)));
    }

    /// Ends the display without a summary (the transfer's error is told
    /// instead).
    pub fn finish_quietly(&self) {
        self.inner.bar.finish_and_clear();
    }

    /// Ends the display and prints the summary.
    pub fn finish(&self, s: &Summary) {
        let inner = &self.inner;
        inner.bar.finish_and_clear();
        let seconds = inner.start.elapsed().as_secs_f64();
        if inner.json {
            emit(
                &json!({"event": "summary", "copied": s.copied, "skipped": s.skipped, "deleted": s.deleted,
                       "failed": s.failed, "bytes": s.bytes, "seconds": seconds, "same": s.same,
                       "differ": s.differ, "missing": s.missing, "extra": s.extra, "size_only": s.size_only,
                       "dry_run": inner.dry_run}),
            );
        } else if inner.mode == Mode::Check {
            eprintln!(
                "{} same, {} differ, {} missing in the destination, {} only in the destination{}",
                s.same + s.size_only,
                s.differ,
                s.missing,
                s.extra,
                if s.size_only > 0 {
                    format!(" ({} compared by size only: no common hash; --download compares the bytes)", s.size_only)
                } else {
                    String::new()
                }
            );
        } else if inner.dry_run {
            eprintln!(
                "dry run: {} to do, {} unchanged; nothing was changed",
                s.planned, s.skipped
            );
        } else {
            eprintln!(
                "{} {}, skipped {} unchanged, deleted {}, failed {}, {} in {seconds:.1} s",
                self.verb(),
                s.copied,
                s.skipped,
                s.deleted,
                s.failed,
                HumanBytes(s.bytes),
            );
        }
    }
}

impl Observer for Reporter {
    fn event(&self, event: &Event) {
        self.show_progress(event);
        let Some((line, value)) = self.render(event) else {
            return;
        };
        if self.inner.json {
            emit(&value);
            return;
        }
        // What went as asked is told only with --verbose; problems,
        // differences and dry-run plans always.
        let routine = matches!(event, Event::Copied { .. } | Event::Deleted { .. });
        if line.is_empty() || (routine && !self.inner.verbose) {
            return;
        }
        // Keys and errors come from plugins: shown, never obeyed.
        let line = wharf::printable(&line);
        if self.inner.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.inner.bar.println(line);
        }
    }
}

/// One JSON line on standard output. A reader that went away (a closed
/// pipe) does not stop the transfer.
fn emit(value: &serde_json::Value) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
}
