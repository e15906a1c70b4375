//! What a transfer tells its caller as it goes, and the counts at the end.
//! A front end renders these (a progress bar, lines, JSON); the engine
//! prints nothing.

use std::sync::{Arc, Mutex};

/// Something that happened to one object, or a note about the run. `rel`
/// is the object's key relative to the roots of both sides (for a
/// one-object transfer, the source as the caller named it).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// An object was found to copy, delete or compare; `bytes` is its size
    /// when it will be copied.
    Planned {
        /// The object.
        rel: String,
        /// The bytes to copy, if it will be copied.
        bytes: Option<u64>,
    },
    /// A worker took the object up (each try of it starts again).
    Started {
        /// The object.
        rel: String,
    },
    /// `bytes` more bytes of the object moved: for progress and rates.
    Progress {
        /// The object (named as in its [`Event::Started`]).
        rel: String,
        /// How many.
        bytes: u64,
    },
    /// The object was copied (or, moving, moved) and checked.
    Copied {
        /// The object.
        rel: String,
        /// Its size.
        bytes: u64,
        /// How the copy was checked.
        verified: Verified,
    },
    /// Left as it is: the destination is up to date.
    Skipped {
        /// The object.
        rel: String,
    },
    /// Deleted from the destination (`sync` with `delete`).
    Deleted {
        /// The object.
        rel: String,
    },
    /// The object failed with an error worth another try; it will be tried
    /// again after a wait.
    Retrying {
        /// The object.
        rel: String,
        /// The tries made so far.
        attempt: u32,
        /// What went wrong.
        error: wharf::Error,
    },
    /// The object failed for good (its error is permanent or its tries ran
    /// out); the rest of the transfer goes on.
    Failed {
        /// The object.
        rel: String,
        /// What went wrong.
        error: wharf::Error,
    },
    /// Dry run: the object would be copied (or moved).
    WouldCopy {
        /// The object.
        rel: String,
        /// Its size.
        bytes: u64,
    },
    /// Dry run: the object would be deleted from the destination.
    WouldDelete {
        /// The object.
        rel: String,
    },
    /// `check`: only in the source.
    Missing {
        /// The object.
        rel: String,
    },
    /// `check`: only in the destination.
    Extra {
        /// The object.
        rel: String,
    },
    /// `check`: the same content on both sides, by `by` (a hash's name, or
    /// `content` when the bytes were compared).
    Same {
        /// The object.
        rel: String,
        /// What compared them.
        by: String,
    },
    /// `check`: the two sides differ.
    Differs {
        /// The object.
        rel: String,
        /// How.
        why: String,
    },
    /// `check`: the same size, and nothing else both sides could compare
    /// without reading the bytes (see `Options::download`).
    SizeOnly {
        /// The object.
        rel: String,
    },
    /// Something the caller should know about the run as a whole.
    Note(String),
}

/// How a copy was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// By the backend itself (a copy inside it), and its size.
    ServerSide,
    /// By a hash of the content, named.
    Hash(String),
    /// By the backend as it stored it, against the hash the plugin sent
    /// with the bytes (a store with `checked-writes`), and its size.
    Backend,
    /// By its size only: no hash both sides know.
    Size,
}

/// Receives a transfer's events, from any of its workers.
pub trait Observer: Send + Sync {
    /// Called for each event, in the order it happened for its object.
    fn event(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> Observer for F {
    fn event(&self, event: &Event) {
        self(event)
    }
}

/// An observer that ignores everything.
pub(crate) struct Silent;

impl Observer for Silent {
    fn event(&self, _: &Event) {}
}

/// The counts at the end of a transfer.
#[derive(Debug, Default, Clone, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// Objects copied (or moved).
    pub copied: u64,
    /// Objects left as they were.
    pub skipped: u64,
    /// Objects deleted from the destination.
    pub deleted: u64,
    /// Objects that failed for good.
    pub failed: u64,
    /// Bytes moved.
    pub bytes: u64,
    /// `check`: the same content on both sides, by a hash or the bytes.
    pub same: u64,
    /// `check`: different.
    pub differ: u64,
    /// `check`: only in the source.
    pub missing: u64,
    /// `check`: only in the destination.
    pub extra: u64,
    /// `check`: the same size, and nothing more both sides could compare.
    pub size_only: u64,
    /// Objects found to work on.
    pub planned: u64,
    /// Bytes found to copy.
    pub planned_bytes: u64,
}

impl Summary {
    /// Whether everything made it (for `check`: everything matched).
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.differ == 0 && self.missing == 0 && self.extra == 0
    }

    fn count(&mut self, event: &Event) {
        match event {
            Event::Planned { bytes, .. } => {
                self.planned += 1;
                self.planned_bytes += bytes.unwrap_or(0);
            }
            Event::Progress { bytes, .. } => self.bytes += bytes,
            Event::Copied { .. } => self.copied += 1,
            Event::Skipped { .. } => self.skipped += 1,
            Event::Deleted { .. } => self.deleted += 1,
            Event::Failed { .. } => self.failed += 1,
            Event::Missing { .. } => self.missing += 1,
            Event::Extra { .. } => self.extra += 1,
            Event::Same { .. } => self.same += 1,
            Event::SizeOnly { .. } => self.size_only += 1,
            Event::Differs { .. } => self.differ += 1,
            Event::Retrying { .. }
            | Event::Started { .. }
            | Event::WouldCopy { .. }
            | Event::WouldDelete { .. }
            | Event::Note(_) => {}
        }
    }
}

/// Counts every event into the summary, then passes it on.
pub(crate) struct Counter {
    summary: Mutex<Summary>,
    observer: Arc<dyn Observer>,
}

impl Counter {
    pub fn new(observer: Arc<dyn Observer>) -> Self {
        Counter {
            summary: Mutex::new(Summary::default()),
            observer,
        }
    }

    pub fn emit(&self, event: Event) {
        self.summary.lock().unwrap().count(&event);
        self.observer.event(&event);
    }

    pub fn summary(&self) -> Summary {
        self.summary.lock().unwrap().clone()
    }
}
