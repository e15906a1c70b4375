//! rclone's stats block, from the engine's events: bytes and objects done
//! of those found, the rate and ETA, checks, deletes, errors, the elapsed
//! time, and each object in flight.
//!
//! With `-P` it goes to stdout every half second, as rclone's does: on a
//! terminal redrawn in place (log lines printed above it), elsewhere one
//! block after another; the last block stays. With `-v` alone, the last
//! block is an INFO line on stderr at the end, as rclone's.

use std::collections::{HashMap, VecDeque};
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wharf_transfer::Event;

/// How often `-P` draws the block (rclone's `--stats` under `-P`).
const EVERY: Duration = Duration::from_millis(500);

/// The rate is taken over the last this long.
const RATE_WINDOW: Duration = Duration::from_secs(5);

/// rclone's `--stats-file-name-length`.
const NAME_WIDTH: usize = 45;

/// One object being copied.
struct Flight {
    rel: String,
    size: u64,
    bytes: u64,
    started: Instant,
}

#[derive(Default)]
struct Counts {
    listed: u64,
    /// Objects to copy, and their bytes.
    planned: u64,
    planned_bytes: u64,
    /// Sizes of objects planned and not yet started (at most the
    /// engine's queue).
    waiting: HashMap<String, u64>,
    copied: u64,
    bytes: u64,
    checks: u64,
    checks_planned: u64,
    deleted: u64,
    errors: u64,
    flight: Vec<Flight>,
    /// `(when, bytes so far)` at each draw, for the rate.
    samples: VecDeque<(Instant, u64)>,
}

/// The stats of one command, fed by its transfer's events.
pub struct Stats {
    counts: Mutex<Counts>,
    start: Instant,
}

impl Stats {
    pub fn new() -> Arc<Stats> {
        Arc::new(Stats {
            counts: Mutex::new(Counts::default()),
            start: Instant::now(),
        })
    }

    pub fn event(&self, event: &Event) {
        let mut counts = self.counts.lock().unwrap();
        let c = &mut *counts;
        match event {
            Event::Planned { rel, bytes } => {
                c.listed += 1;
                match bytes {
                    Some(bytes) => {
                        c.planned += 1;
                        c.planned_bytes += bytes;
                        c.waiting.insert(rel.clone(), *bytes);
                    }
                    None => c.checks_planned += 1,
                }
            }
            Event::Started { rel } => {
                let size = c.waiting.remove(rel).or_else(|| c.waiting.remove(""));
                if let Some(size) = size {
                    c.flight.push(Flight {
                        rel: rel.clone(),
                        size,
                        bytes: 0,
                        started: Instant::now(),
                    });
                }
            }
            Event::Progress { rel, bytes } => {
                c.bytes += bytes;
                if let Some(f) = c.flight.iter_mut().find(|f| f.rel == *rel) {
                    f.bytes += bytes;
                }
            }
            Event::Retrying { rel, .. } => {
                // The try starts again from nothing.
                if let Some(f) = c.flight.iter_mut().find(|f| f.rel == *rel) {
                    c.bytes -= f.bytes.min(c.bytes);
                    f.bytes = 0;
                }
            }
            Event::Copied { rel, .. } => {
                c.copied += 1;
                c.flight.retain(|f| f.rel != *rel);
            }
            Event::Failed { rel, .. } => {
                c.errors += 1;
                c.flight.retain(|f| f.rel != *rel);
            }
            Event::Deleted { .. } => c.deleted += 1,
            // Found unchanged: checked, without a job.
            Event::Skipped { .. } => {
                c.listed += 1;
                c.checks += 1;
                c.checks_planned += 1;
            }
            Event::Same { .. } | Event::Differs { .. } | Event::SizeOnly { .. } => c.checks += 1,
            Event::Missing { .. } | Event::Extra { .. } => c.listed += 1,
            _ => {}
        }
    }

    /// The block's lines, as rclone writes them; the `last` one's rate is
    /// the average of the whole run.
    pub fn block(&self, last: bool) -> Vec<String> {
        let now = Instant::now();
        let mut c = self.counts.lock().unwrap();
        let bytes = c.bytes;
        c.samples.push_back((now, bytes));
        while c
            .samples
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > RATE_WINDOW)
        {
            c.samples.pop_front();
        }
        let elapsed = now.duration_since(self.start);
        // rclone shows 0 B/s until it has a second to measure.
        let rate = match c.samples.front() {
            _ if last && !elapsed.is_zero() => bytes as f64 / elapsed.as_secs_f64(),
            Some((at, then)) if now.duration_since(*at) >= Duration::from_secs(1) => {
                (bytes - then) as f64 / now.duration_since(*at).as_secs_f64()
            }
            _ if elapsed >= Duration::from_secs(1) => bytes as f64 / elapsed.as_secs_f64(),
            _ => 0.0,
        };
        let total = c.planned_bytes.max(bytes);
        let mut lines = vec![format!(
            "Transferred:   \t{:>13} / {}, {}, {}/s, ETA {}",
            size(bytes),
            size(total),
            percent(bytes, total),
            size(rate as u64),
            eta(total - bytes, rate)
        )];
        if c.errors > 0 {
            lines.push(format!("Errors:        {:>10}", c.errors));
        }
        if c.checks > 0 || c.checks_planned > 0 || c.listed > 0 {
            lines.push(format!(
                "Checks:        {:>10} / {}, {}, Listed {}",
                c.checks,
                c.checks_planned,
                percent(c.checks, c.checks_planned),
                c.listed
            ));
        }
        if c.deleted > 0 {
            lines.push(format!(
                "Deleted:       {:>10} (files), 0 (dirs)",
                c.deleted
            ));
        }
        if c.planned > 0 || c.copied > 0 {
            lines.push(format!(
                "Transferred:   {:>10} / {}, {}",
                c.copied,
                c.planned,
                percent(c.copied, c.planned)
            ));
        }
        // rclone pads the time without its last `s`.
        let elapsed = elapsed_text(elapsed);
        lines.push(format!(
            "Elapsed time:  {:>10}s",
            elapsed.trim_end_matches('s')
        ));
        if !c.flight.is_empty() {
            lines.push("Transferring:".to_owned());
            for f in &c.flight {
                let took = now.duration_since(f.started).as_secs_f64();
                let rate = if took > 0.0 {
                    f.bytes as f64 / took
                } else {
                    0.0
                };
                let pct = (100 * f.bytes).checked_div(f.size).unwrap_or(0);
                lines.push(format!(
                    " * {:>NAME_WIDTH$}:{pct:>3}% / {}, {}/s, {}",
                    short_name(&wharf::printable(&f.rel)),
                    size(f.size),
                    size(rate as u64),
                    eta(f.size.saturating_sub(f.bytes), rate)
                ));
            }
        }
        lines
    }
}

/// The last `NAME_WIDTH` characters of a long name, after `...`.
fn short_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= NAME_WIDTH {
        return name.to_owned();
    }
    let tail: String = chars[chars.len() - (NAME_WIDTH - 3)..].iter().collect();
    format!("...{tail}")
}

/// rclone's sizes in its stats: `0 B`, `512 B`, `6 MiB`, `1.055 MiB` (three
/// decimals unless whole, where `size` trims them).
fn size(n: u64) -> String {
    let (value, unit) = crate::listing::binary_units(n);
    if value.fract() == 0.0 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.3} {unit}")
    }
}

fn percent(done: u64, of: u64) -> String {
    if of == 0 {
        "-".to_owned()
    } else {
        format!("{}%", (100 * done as u128 / of as u128))
    }
}

/// The time left at `rate`, as rclone writes durations (`1m5s`), or `-`.
fn eta(left: u64, rate: f64) -> String {
    if rate <= 0.0 {
        return "-".to_owned();
    }
    let secs = (left as f64 / rate).round() as u64;
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// `0.5s`, `2.9s`, `1m2.3s`, `1h0m2.3s`.
fn elapsed_text(elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let (h, m) = ((secs / 3600.0) as u64, (secs % 3600.0 / 60.0) as u64);
    let s = secs % 60.0;
    match (h, m) {
        (0, 0) => format!("{s:.1}s"),
        (0, _) => format!("{m}m{s:.1}s"),
        _ => format!("{h}h{m}m{s:.1}s"),
    }
}

/// The `-P` display: the block on stdout every half second until
/// [`Display::finish`].
pub struct Display {
    stats: Arc<Stats>,
    terminal: bool,
    /// Lines of the block on screen (a terminal), to draw over.
    drawn: Mutex<usize>,
    /// The task that redraws it.
    ticker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The display in use, for log lines to be printed above it.
static SHOWN: Mutex<Option<Arc<Display>>> = Mutex::new(None);

impl Display {
    pub fn start(stats: Arc<Stats>) -> Arc<Display> {
        let display = Arc::new(Display {
            stats,
            terminal: std::io::stdout().is_terminal(),
            drawn: Mutex::new(0),
            ticker: Mutex::new(None),
        });
        let drawing = display.clone();
        let ticker = tokio::spawn(async move {
            let mut every = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
            loop {
                every.tick().await;
                drawing.draw(false);
            }
        });
        *display.ticker.lock().unwrap() = Some(ticker);
        *SHOWN.lock().unwrap() = Some(display.clone());
        display
    }

    /// Draws the block: over the last one on a terminal, after it
    /// elsewhere. The final block ends its line.
    fn draw(&self, last: bool) {
        let block = self.stats.block(last).join("\n");
        let mut out = std::io::stdout().lock();
        let mut drawn = self.drawn.lock().unwrap();
        let written = if self.terminal {
            let up = if *drawn > 0 {
                format!("\x1b[{}A\r\x1b[J", *drawn)
            } else {
                String::new()
            };
            *drawn = block.lines().count();
            writeln!(out, "{up}{block}")
        } else if last {
            writeln!(out, "{block}")
        } else {
            // rclone's blocks off a terminal: one after another, the
            // next starting where the last ended.
            write!(out, "{block}")
        };
        // A reader that went away does not stop the command.
        let _ = written.and_then(|()| out.flush());
    }

    /// Stops the redraws and leaves the final block.
    pub fn finish(&self) {
        if let Some(ticker) = self.ticker.lock().unwrap().take() {
            ticker.abort();
        }
        SHOWN.lock().unwrap().take();
        self.draw(true);
    }

    /// Prints `line` on stderr above the block (a terminal), so the block
    /// stays whole below the log.
    fn above(&self, line: &str) {
        // Standard output first, then `drawn`: the order `draw` takes them
        // in, so the ticker and a log line never wait on each other.
        let mut out = std::io::stdout().lock();
        let mut drawn = self.drawn.lock().unwrap();
        if *drawn > 0 {
            let _ = write!(out, "\x1b[{}A\r\x1b[J", *drawn).and_then(|()| out.flush());
            *drawn = 0;
        }
        eprintln!("{line}");
    }
}

/// Prints a log line on stderr, above the `-P` block when one is drawn on
/// a terminal.
pub fn log_line(line: &str) {
    let shown = SHOWN.lock().unwrap().clone();
    match shown {
        Some(display) if display.terminal => {
            display.above(line);
            display.draw(false);
        }
        _ => eprintln!("{line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_times_as_rclone_writes_them() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(512), "512 B");
        assert_eq!(size(6 << 20), "6 MiB");
        assert_eq!(size(1_106_247), "1.055 MiB");
        assert_eq!(size(1_043_695), "1019.233 KiB");
        assert_eq!(percent(1, 3), "33%");
        assert_eq!(percent(0, 0), "-");
        assert_eq!(eta(10, 0.0), "-");
        assert_eq!(eta(65 << 20, (1 << 20) as f64), "1m5s");
        assert_eq!(elapsed_text(Duration::from_millis(2_900)), "2.9s");
        assert_eq!(elapsed_text(Duration::from_millis(62_300)), "1m2.3s");
        assert_eq!(short_name("a.bin"), "a.bin");
        let long = "d/".repeat(30) + "file.bin";
        let short = short_name(&long);
        assert!(short.starts_with("...") && short.ends_with("file.bin"));
        assert_eq!(short.chars().count(), NAME_WIDTH);
    }

    #[test]
    fn the_block_counts_what_the_events_say() {
        let stats = Stats::new();
        for (rel, bytes) in [("a.bin", 4 << 20), ("b.bin", 2 << 20)] {
            stats.event(&Event::Planned {
                rel: rel.into(),
                bytes: Some(bytes),
            });
        }
        stats.event(&Event::Started {
            rel: "a.bin".into(),
        });
        stats.event(&Event::Progress {
            rel: "a.bin".into(),
            bytes: 1 << 20,
        });
        let block = stats.block(false);
        assert_eq!(
            block[0],
            "Transferred:   \t        1 MiB / 6 MiB, 16%, 0 B/s, ETA -"
        );
        assert_eq!(block[1], "Checks:                 0 / 0, -, Listed 2");
        assert_eq!(block[2], "Transferred:            0 / 2, 0%");
        assert!(block[3].starts_with("Elapsed time:  "));
        assert_eq!(block[4], "Transferring:");
        assert!(
            block[5].starts_with(&format!(" * {:>45}: 25% / 4 MiB, ", "a.bin")),
            "{}",
            block[5]
        );
        stats.event(&Event::Copied {
            rel: "a.bin".into(),
            bytes: 4 << 20,
            verified: wharf_transfer::Verified::Size,
        });
        let block = stats.block(false);
        assert_eq!(block[2], "Transferred:            1 / 2, 50%");
        assert!(!block.iter().any(|l| l == "Transferring:"));
    }
}
