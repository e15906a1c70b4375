//! What a transfer tells the user: a progress display on a terminal
//! (objects done of those found, bytes, rate, ETA), one line per object
//! otherwise, JSON lines with `--json`, and a summary at the end.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use serde_json::json;

use super::{Job, Mode, Settings, Verified};

/// Something that happened to one object (or a note about the run).
#[derive(Debug)]
pub enum Event {
    Copied {
        rel: String,
        bytes: u64,
        verified: Verified,
    },
    Skipped(String),
    Deleted(String),
    Retrying {
        rel: String,
        attempt: u32,
        error: String,
    },
    Failed {
        rel: String,
        error: String,
    },
    WouldDo(Job),
    /// `check`: only in the source, only in the destination.
    Missing(String),
    Extra(String),
    Same {
        rel: String,
        by: &'static str,
    },
    Differs {
        rel: String,
        why: String,
    },
    /// `check`: same size, and no way to compare more without `--download`.
    SizeOnly(String),
    Note(String),
}

/// The counts at the end.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub copied: u64,
    pub skipped: u64,
    pub deleted: u64,
    pub failed: u64,
    pub bytes: u64,
    /// `check`.
    pub same: u64,
    pub differ: u64,
    pub missing: u64,
    pub extra: u64,
    pub size_only: u64,
    pub planned: u64,
    pub planned_bytes: u64,
    pub seconds: f64,
}

impl Summary {
    /// Whether everything made it (or, for `check`, everything matched).
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.differ == 0 && self.missing == 0 && self.extra == 0
    }
}

#[derive(Clone)]
pub struct Reporter {
    inner: Arc<Mutex<Inner>>,
    bar: ProgressBar,
    json: bool,
    dry_run: bool,
    verbose: bool,
    mode: Mode,
    start: Instant,
}

#[derive(Default)]
struct Inner {
    summary: Summary,
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
            inner: Arc::new(Mutex::new(Inner::default())),
            bar,
            json: settings.json,
            dry_run: settings.dry_run,
            verbose: settings.verbose,
            mode,
            start: Instant::now(),
        }
    }

    /// A job was found to do.
    pub fn planned(&self, job: &Job) {
        let mut inner = self.inner.lock().unwrap();
        inner.summary.planned += 1;
        if let Job::Copy(item) = job {
            inner.summary.planned_bytes += item.size;
        }
        // The bar counts bytes, so that its rate and ETA are about what
        // takes time; objects go in the message. Both totals grow as the
        // listing goes on.
        self.bar.set_length(inner.summary.planned_bytes);
        self.show_objects(&inner);
    }

    fn show_objects(&self, inner: &Inner) {
        let s = &inner.summary;
        // Unchanged and one-sided objects are found without a job.
        let seen = s.skipped + s.missing + s.extra;
        let done = s.copied + s.deleted + s.failed + s.same + s.differ + s.size_only + seen;
        let found = s.planned + seen;
        self.bar
            .set_message(format!("{done}/{} objects", found.max(done)));
    }

    pub fn bytes(&self, n: u64) {
        let mut inner = self.inner.lock().unwrap();
        inner.summary.bytes += n;
        self.bar.inc(n);
    }

    pub fn failed(&self) -> u64 {
        self.inner.lock().unwrap().summary.failed
    }

    pub fn event(&self, event: Event) {
        let mut inner = self.inner.lock().unwrap();
        let s = &mut inner.summary;
        let (line, value) = match &event {
            Event::Copied {
                rel,
                bytes,
                verified,
            } => {
                s.copied += 1;
                let how = match verified {
                    Verified::ServerSide => "server-side".to_owned(),
                    Verified::Hash(kind) => kind.to_string(),
                    Verified::Size => "size".to_owned(),
                };
                let verb = if self.mode == Mode::Move {
                    "moved"
                } else {
                    "copied"
                };
                (
                    format!("{verb} {rel} ({}, verified by {how})", HumanBytes(*bytes)),
                    json!({"event": verb, "key": rel, "bytes": bytes, "verified": how}),
                )
            }
            Event::Skipped(rel) => {
                s.skipped += 1;
                (
                    String::new(),
                    json!({"event": "skipped", "key": rel, "why": "unchanged"}),
                )
            }
            Event::Deleted(rel) => {
                s.deleted += 1;
                (
                    format!("deleted {rel}"),
                    json!({"event": "deleted", "key": rel}),
                )
            }
            Event::Retrying {
                rel,
                attempt,
                error,
            } => (
                format!("retrying {rel} (try {}): {error}", attempt + 1),
                json!({"event": "retrying", "key": rel, "attempt": attempt, "error": error}),
            ),
            Event::Failed { rel, error } => {
                s.failed += 1;
                (
                    format!("FAILED {rel}: {error}"),
                    json!({"event": "failed", "key": rel, "error": error}),
                )
            }
            Event::WouldDo(job) => match job {
                Job::Copy(item) => {
                    let verb = if self.mode == Mode::Move {
                        "move"
                    } else {
                        "copy"
                    };
                    (
                        format!("would {verb} {} ({})", item.rel, HumanBytes(item.size)),
                        json!({"event": format!("would-{verb}"), "key": item.rel, "bytes": item.size}),
                    )
                }
                Job::Delete(item) => (
                    format!("would delete {}", item.rel),
                    json!({"event": "would-delete", "key": item.rel}),
                ),
                Job::Compare { src, .. } => (
                    String::new(),
                    json!({"event": "would-compare", "key": src.rel}),
                ),
            },
            Event::Missing(rel) => {
                s.missing += 1;
                (
                    format!("missing in the destination: {rel}"),
                    json!({"event": "missing", "key": rel}),
                )
            }
            Event::Extra(rel) => {
                s.extra += 1;
                (
                    format!("only in the destination: {rel}"),
                    json!({"event": "extra", "key": rel}),
                )
            }
            Event::Same { rel, by } => {
                s.same += 1;
                (
                    String::new(),
                    json!({"event": "same", "key": rel, "by": by}),
                )
            }
            Event::Differs { rel, why } => {
                s.differ += 1;
                (
                    format!("differs: {rel}: {why}"),
                    json!({"event": "differs", "key": rel, "why": why}),
                )
            }
            Event::SizeOnly(rel) => {
                s.size_only += 1;
                (
                    String::new(),
                    json!({"event": "same", "key": rel, "by": "size"}),
                )
            }
            Event::Note(note) => (
                format!("note: {note}"),
                json!({"event": "note", "message": note}),
            ),
        };
        self.show_objects(&inner);
        drop(inner);
        if self.json {
            emit(&value);
        } else if !line.is_empty() {
            // What went as asked is told only with --verbose; problems,
            // differences and dry-run plans always.
            let routine = matches!(event, Event::Copied { .. } | Event::Deleted(_));
            if routine && !self.verbose {
            } else if self.bar.is_hidden() {
                eprintln!("{line}");
            } else {
                self.bar.println(line);
            }
        }
    }

    /// Counts a failure told some other way (a one-object transfer's
    /// error is the command's).
    pub fn count_failure(&self) {
        self.inner.lock().unwrap().summary.failed += 1;
    }

    /// Ends the display without a summary.
    pub fn finish_quietly(&self) {
        self.bar.finish_and_clear();
    }

    /// Ends the display and prints the summary.
    pub fn finish(&self) -> Summary {
        self.bar.finish_and_clear();
        let mut summary = self.inner.lock().unwrap().summary.clone();
        summary.seconds = self.start.elapsed().as_secs_f64();
        let s = &summary;
        if self.json {
            emit(
                &json!({"event": "summary", "copied": s.copied, "skipped": s.skipped, "deleted": s.deleted,
                       "failed": s.failed, "bytes": s.bytes, "seconds": s.seconds, "same": s.same,
                       "differ": s.differ, "missing": s.missing, "extra": s.extra, "size_only": s.size_only,
                       "dry_run": self.dry_run}),
            );
        } else if self.mode == Mode::Check {
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
        } else if self.dry_run {
            eprintln!(
                "dry run: {} to do, {} unchanged; nothing was changed",
                s.planned, s.skipped
            );
        } else {
            let verb = if self.mode == Mode::Move {
                "moved"
            } else {
                "copied"
            };
            eprintln!(
                "{verb} {}, skipped {} unchanged, deleted {}, failed {}, {} in {:.1} s",
                s.copied,
                s.skipped,
                s.deleted,
                s.failed,
                HumanBytes(s.bytes),
                s.seconds
            );
        }
        summary
    }
}

/// One JSON line on standard output. A reader that went away (a closed
/// pipe) does not stop the transfer.
fn emit(value: &serde_json::Value) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
}
