//! rclone's `--bwlimit`: a cap on the bytes a transfer moves each second,
//! shared by all its workers, constant or changing by a weekly timetable.
//!
//! One rate (`10M`) caps every byte copied, wherever it goes, as rclone's
//! single limit does. Two (`10M:1M`, upload then download) cap the bytes
//! written to remotes and the bytes read from remotes separately, as
//! rclone caps its network traffic each way; a local copy then runs free.
//!
//! The cap is a token bucket that may go into debt: a worker takes what it
//! moves, then waits until the bucket has refilled what it owes. Workers
//! share one bucket, so each waits for the others' debt too and together
//! they keep to the rate.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wharf::{Error, ErrorKind, Result};

/// Bytes per second each way; `None` is no cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rates {
    /// Bytes written to remotes (all bytes, when `up == down`).
    pub up: Option<u64>,
    /// Bytes read from remotes.
    pub down: Option<u64>,
}

impl Rates {
    /// Whether one bucket takes every byte: rclone's single limit.
    fn shared(&self) -> bool {
        self.up == self.down
    }

    fn is_off(&self) -> bool {
        self.up.is_none() && self.down.is_none()
    }
}

impl std::fmt::Display for Rates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = |r: Option<u64>| match r {
            None => "off".to_owned(),
            Some(bytes) if bytes >= 1 << 20 => format!("{:.3} MiB/s", bytes as f64 / 1048576.0),
            Some(bytes) => format!("{:.3} KiB/s", bytes as f64 / 1024.0),
        };
        if self.shared() {
            write!(f, "{}", rate(self.up))
        } else {
            write!(f, "{} up, {} down", rate(self.up), rate(self.down))
        }
    }
}

/// Minutes in a week; timetables count from Sunday 00:00, as rclone does.
const WEEK: u32 = 7 * 24 * 60;

/// A `--bwlimit` value: rates from given minutes of the week on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `(minute of the week, rates)`, sorted by minute; one entry at 0
    /// for a constant limit.
    slots: Vec<(u32, Rates)>,
}

const DAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

impl Bandwidth {
    /// Reads rclone's `--bwlimit`: `off`, a rate (`512k`, `10M`, `1.5G`; a
    /// bare number is KiB/s; `0` is off), `UP:DOWN` (`10M:1M`, `off:2M`),
    /// or a timetable of `HH:MM,RATE` (every day) and `Day-HH:MM,RATE`
    /// entries separated by spaces or semicolons
    /// (`08:00,512k 19:00,10M Sat-00:00,off`).
    pub fn parse(text: &str) -> Result<Bandwidth> {
        let text = text.trim();
        let bad = |why: String| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "--bwlimit {text:?}: {why}; write a rate (10M, 512k), UP:DOWN (10M:1M), \
                     or a timetable (\"08:00,512k 19:00,off\", \"Mon-08:00,1M\")"
                ),
            )
        };
        if text.is_empty() {
            return Err(bad("empty".into()));
        }
        if !text.contains([' ', ';', ',']) {
            return Ok(Bandwidth {
                slots: vec![(0, rates(text).map_err(bad)?)],
            });
        }
        let mut slots = Vec::new();
        for entry in text.split([' ', ';']).filter(|e| !e.is_empty()) {
            let Some((when, rate)) = entry.split_once(',') else {
                return Err(bad(format!("{entry:?} has no comma between time and rate")));
            };
            let rates = rates(rate).map_err(bad)?;
            match when.split_once('-') {
                Some((day, time)) => {
                    let day = day.to_ascii_lowercase();
                    let Some(index) = DAYS
                        .iter()
                        .position(|d| *d == day || (day.len() == 3 && d.starts_with(&day)))
                    else {
                        return Err(bad(format!(
                            "{day:?} is not a day of the week (Mon, Tuesday…)"
                        )));
                    };
                    let minute = minute_of_day(time).map_err(bad)?;
                    slots.push((index as u32 * 24 * 60 + minute, rates));
                }
                None => {
                    let minute = minute_of_day(when).map_err(bad)?;
                    slots.extend((0..7).map(|day| (day * 24 * 60 + minute, rates)));
                }
            }
        }
        // A later entry for the same minute wins, as in the order given.
        slots.reverse();
        slots.sort_by_key(|(minute, _)| *minute);
        slots.dedup_by_key(|(minute, _)| *minute);
        Ok(Bandwidth { slots })
    }

    /// The rates at `minute` of the week: those of the last entry at or
    /// before it, or, before the week's first entry, of its last (the
    /// timetable wraps around from one week to the next).
    pub fn rates_at(&self, minute: u32) -> Rates {
        self.slots
            .iter()
            .rev()
            .find(|(start, _)| *start <= minute % WEEK)
            .or(self.slots.last())
            .map(|(_, rates)| *rates)
            .unwrap_or_default()
    }

    /// Whether it never caps anything (`off`, `0`).
    pub fn is_off(&self) -> bool {
        self.slots.iter().all(|(_, rates)| rates.is_off())
    }
}

/// `HH:MM` as minutes since midnight.
fn minute_of_day(text: &str) -> std::result::Result<u32, String> {
    let wrong = || format!("{text:?} is not a time of day (HH:MM, 00:00 to 23:59)");
    let (hh, mm) = text.split_once(':').ok_or_else(wrong)?;
    if hh.len() != 2 || mm.len() != 2 {
        return Err(wrong());
    }
    let (hh, mm): (u32, u32) = (
        hh.parse().map_err(|_| wrong())?,
        mm.parse().map_err(|_| wrong())?,
    );
    if hh > 23 || mm > 59 {
        return Err(wrong());
    }
    Ok(hh * 60 + mm)
}

/// `RATE` or `UP:DOWN`.
fn rates(text: &str) -> std::result::Result<Rates, String> {
    let one = |text: &str| -> std::result::Result<Option<u64>, String> {
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        // A bare number is KiB/s, as in rclone.
        let sized = if text.chars().all(|c| c.is_ascii_digit() || c == '.') {
            format!("{text}K")
        } else {
            text.to_owned()
        };
        match wharf_rclone_conf::parse_size(&sized) {
            Some(0) => Ok(None),
            Some(bytes) => Ok(Some(bytes)),
            None => Err(format!("{text:?} is not a rate (off, 512k, 10M, 1.5G)")),
        }
    };
    Ok(match text.split_once(':') {
        Some((up, down)) => Rates {
            up: one(up)?,
            down: one(down)?,
        },
        None => {
            let rate = one(text)?;
            Rates {
                up: rate,
                down: rate,
            }
        }
    })
}

/// Which way the bytes of one copy go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// Read from a remote (download).
    pub from_remote: bool,
    /// Written to a remote (upload).
    pub to_remote: bool,
}

impl Flow {
    /// Into a remote from this machine (`rcat`'s standard input).
    pub const UPLOAD: Flow = Flow {
        from_remote: false,
        to_remote: true,
    };
    /// From a remote to this machine (`cat`'s standard output, what
    /// `check --download` reads).
    pub const DOWNLOAD: Flow = Flow {
        from_remote: true,
        to_remote: false,
    };
}

/// A bucket of bytes that refills at its rate and may go into debt.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    filled: Instant,
}

impl Bucket {
    fn new(rate: u64, now: Instant) -> Bucket {
        // Starts empty: the first bytes wait as all others, no burst.
        Bucket {
            rate: rate as f64,
            tokens: 0.0,
            filled: now,
        }
    }

    /// Takes `n` bytes; how long until what is owed has refilled.
    fn take(&mut self, n: u64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.filled).as_secs_f64();
        // An idle bucket saves up a quarter of a second's worth at most.
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate / 4.0);
        self.filled = now;
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

struct State {
    /// The rates in force, and when the timetable was last looked at.
    rates: Rates,
    looked: Option<Instant>,
    /// One bucket when the rates are shared, else up and down.
    up: Option<Bucket>,
    down: Option<Bucket>,
}

/// A `--bwlimit` in force: the buckets every worker of a transfer takes
/// from. Share it (an `Arc`) between the transfers it caps together.
pub struct BandwidthLimit {
    table: Bandwidth,
    /// The local minute of the week.
    clock: Box<dyn Fn() -> u32 + Send + Sync>,
    state: Mutex<State>,
}

impl std::fmt::Debug for BandwidthLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BandwidthLimit")
            .field("table", &self.table)
            .finish()
    }
}

/// How often a timetable is looked at again.
const LOOK_EVERY: Duration = Duration::from_secs(1);

impl BandwidthLimit {
    /// A limit by `table`, on the machine's local time.
    pub fn new(table: Bandwidth) -> BandwidthLimit {
        Self::with_clock(table, Box::new(local_minute_of_week))
    }

    fn with_clock(table: Bandwidth, clock: Box<dyn Fn() -> u32 + Send + Sync>) -> BandwidthLimit {
        BandwidthLimit {
            table,
            clock,
            state: Mutex::new(State {
                rates: Rates::default(),
                looked: None,
                up: None,
                down: None,
            }),
        }
    }

    /// The rates in force now.
    pub fn rates(&self) -> Rates {
        let mut state = self.state.lock().unwrap();
        self.look(&mut state, Instant::now());
        state.rates
    }

    /// Follows the timetable: new rates start with empty buckets.
    fn look(&self, state: &mut State, now: Instant) {
        if state
            .looked
            .is_some_and(|at| now.saturating_duration_since(at) < LOOK_EVERY)
        {
            return;
        }
        state.looked = Some(now);
        let rates = self.table.rates_at((self.clock)());
        if rates == state.rates && (state.up.is_some() || state.down.is_some() || rates.is_off()) {
            return;
        }
        state.rates = rates;
        state.up = rates.up.map(|r| Bucket::new(r, now));
        state.down = if rates.shared() {
            None
        } else {
            rates.down.map(|r| Bucket::new(r, now))
        };
    }

    /// Takes `n` bytes moved in `flow`; how long to wait before moving
    /// more.
    pub fn charge(&self, n: u64, flow: Flow) -> Duration {
        self.charge_at(n, flow, Instant::now())
    }

    fn charge_at(&self, n: u64, flow: Flow, now: Instant) -> Duration {
        let mut state = self.state.lock().unwrap();
        self.look(&mut state, now);
        if state.rates.shared() {
            return state.up.as_mut().map_or(Duration::ZERO, |b| b.take(n, now));
        }
        let up = match (&mut state.up, flow.to_remote) {
            (Some(bucket), true) => bucket.take(n, now),
            _ => Duration::ZERO,
        };
        let down = match (&mut state.down, flow.from_remote) {
            (Some(bucket), true) => bucket.take(n, now),
            _ => Duration::ZERO,
        };
        up.max(down)
    }

    /// Takes `n` bytes moved in `flow` and waits for them.
    pub async fn pace(&self, n: u64, flow: Flow) {
        let wait = self.charge(n, flow);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// How many bytes to move between waits: a tenth of a second at the
    /// lowest rate in force, so a slow cap is a steady trickle, not a
    /// burst of a whole chunk then a long pause.
    pub fn piece(&self) -> usize {
        let rates = self.rates();
        let lowest = [rates.up, rates.down].into_iter().flatten().min();
        lowest.map_or(usize::MAX, |r| (r / 10).clamp(16 << 10, 1 << 20) as usize)
    }

    /// Takes `n` bytes moved in `flow` and waits for them, in slices of
    /// at most a quarter of a second, giving up as soon as `stopped` says
    /// (a cancelled transfer does not sit out a long wait).
    pub(crate) async fn pace_unless(&self, n: u64, flow: Flow, stopped: impl Fn() -> bool) {
        let mut wait = self.charge(n, flow);
        while !wait.is_zero() && !stopped() {
            let slice = wait.min(Duration::from_millis(250));
            tokio::time::sleep(slice).await;
            wait -= slice;
        }
    }

    /// `inner` (a reader or a writer), paced: each read or write is
    /// charged as bytes moved in `flow`, and the next one waits for it.
    pub fn paced<T>(self: &Arc<Self>, inner: T, flow: Flow) -> Paced<T> {
        Paced {
            inner,
            limit: self.clone(),
            flow,
            wait: None,
        }
    }
}

/// A reader or writer that keeps to a [`BandwidthLimit`].
pub struct Paced<T> {
    inner: T,
    limit: Arc<BandwidthLimit>,
    flow: Flow,
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> Paced<T> {
    /// Whether the wait for what was moved last is over.
    fn waited(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(wait) = self.wait.as_mut() {
            if wait.as_mut().poll(cx).is_pending() {
                return false;
            }
            self.wait = None;
        }
        true
    }

    /// Charges `n` bytes moved; the next call waits for them.
    fn moved(&mut self, n: usize) {
        let wait = self.limit.charge(n as u64, self.flow);
        if !wait.is_zero() {
            self.wait = Some(Box::pin(tokio::time::sleep(wait)));
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Paced<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.waited(cx) {
            return Poll::Pending;
        }
        // Never more than a piece at once, so the pauses stay short.
        let piece = self.limit.piece().min(buf.remaining());
        let mut part = buf.take(piece);
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, &mut part) {
            Poll::Ready(Ok(())) => {
                let n = part.filled().len();
                // `take` reads into the same memory: mark it filled.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                this.moved(n);
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Paced<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if !self.waited(cx) {
            return Poll::Pending;
        }
        let piece = self.limit.piece().min(buf.len());
        match Pin::new(&mut self.inner).poll_write(cx, &buf[..piece]) {
            Poll::Ready(Ok(n)) => {
                self.moved(n);
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The machine's local time as minutes since Sunday 00:00.
#[cfg(unix)]
fn local_minute_of_week() -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as libc::time_t;
    // SAFETY: localtime_r only writes the struct it is given.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&now, &mut tm) }.is_null() {
        return utc_minute_of_week();
    }
    (tm.tm_wday as u32 * 24 + tm.tm_hour as u32) * 60 + tm.tm_min as u32
}

#[cfg(not(unix))]
fn local_minute_of_week() -> u32 {
    utc_minute_of_week()
}

/// UTC minutes since Sunday 00:00 (1970-01-01 was a Thursday).
fn utc_minute_of_week() -> u32 {
    let minutes = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60);
    ((minutes + 4 * 24 * 60) % WEEK as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: Flow = Flow::UPLOAD;
    const DOWN: Flow = Flow::DOWNLOAD;
    const LOCAL: Flow = Flow {
        from_remote: false,
        to_remote: false,
    };

    fn both(rate: u64) -> Rates {
        Rates {
            up: Some(rate),
            down: Some(rate),
        }
    }

    #[test]
    fn rates_read_as_rclone_reads_them() {
        let at0 = |text: &str| Bandwidth::parse(text).unwrap().rates_at(0);
        assert_eq!(at0("10M"), both(10 << 20));
        assert_eq!(at0("666"), both(666 << 10), "a bare number is KiB/s");
        assert_eq!(at0("1.5M"), both(3 << 19));
        assert_eq!(at0("512k"), both(512 << 10));
        assert_eq!(at0("100B"), both(100));
        assert_eq!(at0("off"), Rates::default());
        assert_eq!(at0("0"), Rates::default());
        assert!(Bandwidth::parse("0").unwrap().is_off());
        assert_eq!(
            at0("10M:1M"),
            Rates {
                up: Some(10 << 20),
                down: Some(1 << 20)
            }
        );
        assert_eq!(
            at0("off:2M"),
            Rates {
                up: None,
                down: Some(2 << 20)
            }
        );
        for bad in [
            "",
            "fast",
            "10X",
            "1M:slow",
            "25:00,1M",
            "10:60,1M",
            "Xyz-10:00,1M",
            "8:00,1M",
        ] {
            let err = Bandwidth::parse(bad).unwrap_err();
            assert_eq!(*err.kind(), ErrorKind::InvalidRequest, "{bad}");
            assert!(err.message().contains("--bwlimit"), "{}", err.message());
        }
    }

    #[test]
    fn a_timetable_follows_the_week_and_wraps_around() {
        let day = 24 * 60;
        let table = Bandwidth::parse("08:00,512k;19:00,10M Sat-23:00,off").unwrap();
        // Sunday 07:59 is before the week's first entry: Saturday 23:00's.
        assert_eq!(table.rates_at(7 * 60 + 59), Rates::default());
        assert_eq!(table.rates_at(8 * 60), both(512 << 10));
        assert_eq!(table.rates_at(day + 20 * 60), both(10 << 20));
        assert_eq!(table.rates_at(6 * day + 22 * 60), both(10 << 20));
        assert_eq!(table.rates_at(6 * day + 23 * 60 + 30), Rates::default());
        let weekdays = Bandwidth::parse("Mon-09:00,1M Friday-17:30,off").unwrap();
        assert_eq!(weekdays.rates_at(0), Rates::default());
        assert_eq!(weekdays.rates_at(3 * day), both(1 << 20));
        assert_eq!(weekdays.rates_at(5 * day + 17 * 60 + 30), Rates::default());
    }

    #[test]
    fn workers_sharing_a_limit_keep_to_its_rate_together() {
        let limit = BandwidthLimit::with_clock(Bandwidth::parse("1M").unwrap(), Box::new(|| 0));
        let start = Instant::now();
        // Four workers each move 256 KiB at once: 1 MiB in all, so the
        // last of them waits a second.
        let waits: Vec<Duration> = (0..4)
            .map(|_| limit.charge_at(256 << 10, LOCAL, start))
            .collect();
        assert_eq!(waits[0], Duration::from_millis(250));
        assert_eq!(waits[3], Duration::from_secs(1));
        // Half a second on, half a MiB has been repaid.
        let later = start + Duration::from_millis(500);
        assert_eq!(limit.charge_at(0, UP, later), Duration::from_millis(500));
    }

    #[test]
    fn up_and_down_are_capped_apart() {
        let limit = BandwidthLimit::with_clock(Bandwidth::parse("1M:off").unwrap(), Box::new(|| 0));
        let now = Instant::now();
        assert_eq!(limit.charge_at(1 << 20, DOWN, now), Duration::ZERO);
        assert_eq!(limit.charge_at(1 << 20, LOCAL, now), Duration::ZERO);
        assert_eq!(limit.charge_at(1 << 20, UP, now), Duration::from_secs(1));
        let both_ways = Flow {
            from_remote: true,
            to_remote: true,
        };
        assert_eq!(
            limit.charge_at(1 << 20, both_ways, now),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn a_new_slot_of_the_timetable_takes_effect_within_a_second() {
        let minute = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let clock = minute.clone();
        let limit = BandwidthLimit::with_clock(
            Bandwidth::parse("00:00,1M 00:01,off").unwrap(),
            Box::new(move || clock.load(std::sync::atomic::Ordering::Relaxed)),
        );
        let now = Instant::now();
        assert_eq!(limit.charge_at(1 << 20, UP, now), Duration::from_secs(1));
        minute.store(1, std::sync::atomic::Ordering::Relaxed);
        let soon = now + Duration::from_millis(100);
        assert!(
            !limit.charge_at(1, UP, soon).is_zero(),
            "looked again too soon"
        );
        let later = now + Duration::from_secs(2);
        assert_eq!(limit.charge_at(10 << 20, UP, later), Duration::ZERO);
    }
}
