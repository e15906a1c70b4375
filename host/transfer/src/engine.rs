//! The running transfer: both sides, the workers that take jobs, and the
//! retry of each job. `plan` finds the jobs, `copy` and `check` do them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use wharf::{Error, ErrorKind, Result};

use crate::bandwidth::Flow;
use crate::endpoint::Endpoint;
use crate::event::{Counter, Event, Summary};
use crate::filter::Filter;
use crate::retry::RetryPolicy;
use crate::verify::{Kind, COMPUTED};
use crate::walk::{timestamp, Item, Listed, Source, Walk};
use crate::Options;

/// Which transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Copy objects.
    Copy,
    /// Copy objects, check them, then delete the sources.
    Move,
    /// Make the destination match the source.
    Sync,
    /// Compare two trees.
    Check,
}

/// One side: where it is, whether it is a tree, and what its store
/// declares about hashes.
pub(crate) struct Side {
    /// The file, key, directory or prefix (ending in `/`).
    pub base: Endpoint,
    /// Whether `base` is a tree (every object below it) or one object.
    pub tree: bool,
    /// How its etags relate to the content, where they are hashes.
    pub kind: Option<Kind>,
    /// The hash kinds it gives on request (a local side: those the host
    /// computes).
    pub hashes: Vec<String>,
    /// Whether its backend checks each write against the plugin's hash of
    /// the bytes (contract 0.3, `checked-writes`): then what is written
    /// there is not hashed a second time to compare with the etag.
    pub checked_writes: bool,
    /// For a remote whose plugin declares nothing about its etags (built
    /// before contract 0.3): what to tell the user.
    pub undeclared: Option<String>,
    /// Whether a local tree's symbolic links are followed.
    pub follow_links: bool,
    /// Which objects of the tree are taken.
    pub filter: Option<Arc<Filter>>,
    /// The listing of the tree begun to learn that it is one, for its
    /// first walk.
    listed: Mutex<Option<Listed>>,
}

impl Side {
    pub async fn new(
        base: Endpoint,
        tree: bool,
        follow_links: bool,
        filter: Option<Arc<Filter>>,
    ) -> Result<Side> {
        let (kind, hashes, checked_writes, undeclared) = match base.remote_ref() {
            None => (
                None,
                COMPUTED.iter().map(|k| k.to_string()).collect(),
                false,
                None,
            ),
            Some(remote) => match remote.describe().await? {
                Some(description) => (
                    Kind::of_etag(&description.etag),
                    description.hashes,
                    description.checked_writes,
                    None,
                ),
                None => {
                    let plugin = remote.plugin();
                    let contract = plugin.contract_version();
                    let old = contract.starts_with("0.1.") || contract.starts_with("0.2.");
                    let note = old.then(|| {
                        format!(
                            "remote '{}' runs plugin '{}', built for contract {contract}, which \
                             declares nothing about its etags: its objects are checked by size \
                             only",
                            remote.name(),
                            plugin.info().name
                        )
                    });
                    (None, Vec::new(), false, note)
                }
            },
        };
        Ok(Side {
            base,
            tree,
            kind,
            hashes,
            checked_writes,
            undeclared,
            follow_links,
            filter,
            listed: Mutex::new(None),
        })
    }

    /// This side, its first walk going on from `listed` (see
    /// [`crate::Probe`]).
    pub fn resuming(self, listed: Option<Listed>) -> Side {
        *self.listed.lock().unwrap() = listed;
        self
    }

    /// Where the object `rel` of this side is.
    pub fn at(&self, rel: &str) -> Endpoint {
        self.base.at(rel)
    }

    /// A sorted stream of this side's objects.
    pub async fn walk(&self) -> Result<Walk<'_>> {
        match &self.base {
            Endpoint::Local(path) => Ok(Walk::new(
                Source::local(path, self.follow_links)?,
                self.filter.clone(),
            )),
            Endpoint::Remote { remote, key } => {
                let listed = self.listed.lock().unwrap().take();
                let source = match listed {
                    Some(listed) => Source::resumed(listed, key),
                    None => Source::remote(remote, key).await?,
                };
                Ok(Walk::new(source, self.filter.clone()))
            }
        }
    }

    /// The one object this side names, as an item (`rel` empty).
    pub async fn item(&self) -> Result<Item> {
        match &self.base {
            Endpoint::Local(path) => {
                let meta = std::fs::metadata(path)
                    .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
                Ok(Item {
                    rel: String::new(),
                    size: meta.len(),
                    modified: meta.modified().ok().map(timestamp),
                    etag: None,
                })
            }
            Endpoint::Remote { remote, key } => {
                let meta = remote.stat(key).await?;
                Ok(Item {
                    rel: String::new(),
                    size: meta.size,
                    modified: meta.last_modified,
                    etag: meta.etag,
                })
            }
        }
    }

    /// `item` with its etag, asked for if the listing had none and this
    /// side's etags are hashes (some S3 servers list none).
    pub async fn with_etag(&self, mut item: Item) -> Item {
        if item.etag.is_none() && self.kind.is_some() {
            if let Endpoint::Remote { remote, key } = self.at(&item.rel) {
                if let Ok(meta) = remote.stat(&key).await {
                    item.etag = meta.etag;
                }
            }
        }
        item
    }
}

/// One unit of work for a worker.
#[derive(Debug)]
pub(crate) enum Job {
    /// Copy (and moving, then delete) the source object.
    Copy(Item),
    /// Delete the destination object (`sync` with `delete`).
    Delete(Item),
    /// Compare the two objects (`check`).
    Compare { src: Item, dst: Item },
}

impl Job {
    fn rel(&self) -> &str {
        match self {
            Job::Copy(item) | Job::Delete(item) => &item.rel,
            Job::Compare { src, .. } => &src.rel,
        }
    }
}

/// Set to stop a transfer: the writes in flight are aborted (leaving
/// nothing), no new object is started, and the transfer returns an error
/// saying it was interrupted. Cheap to clone; clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Stops the transfers that watch this flag.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether it was set.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What every worker shares.
pub(crate) struct Engine {
    pub mode: Mode,
    pub options: Options,
    pub src: Side,
    pub dst: Side,
    pub cancel: Cancel,
    pub events: Counter,
    pub retry: RetryPolicy,
    /// The error of a one-object transfer that failed: the transfer's own.
    pub single_error: Mutex<Option<Error>>,
}

impl Engine {
    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Which way this transfer's bytes go, for the bandwidth limit.
    pub fn flow(&self) -> Flow {
        Flow {
            from_remote: matches!(self.src.base, Endpoint::Remote { .. }),
            to_remote: matches!(self.dst.base, Endpoint::Remote { .. }),
        }
    }

    /// Waits, after moving `n` bytes, as long as the bandwidth limit says
    /// (not at all without one); a cancelled transfer stops waiting.
    pub async fn pace(&self, n: u64) {
        if let Some(limit) = &self.options.bandwidth {
            limit.pace_unless(n, self.flow(), || self.cancelled()).await;
        }
    }

    /// How events name the object at `rel`: one object (not a tree) by
    /// its whole location.
    pub fn shown(&self, rel: &str) -> String {
        match rel {
            "" => self.src.base.to_string(),
            rel => rel.to_owned(),
        }
    }

    pub fn emit(&self, event: Event) {
        self.events.emit(event);
    }

    pub fn planned(&self, job: &Job) {
        let bytes = match job {
            Job::Copy(item) => Some(item.size),
            Job::Delete(_) | Job::Compare { .. } => None,
        };
        self.emit(Event::Planned {
            rel: job.rel().to_owned(),
            bytes,
        });
    }

    pub fn would_do(&self, job: Job) {
        match job {
            Job::Copy(item) => self.emit(Event::WouldCopy {
                rel: item.rel,
                bytes: item.size,
            }),
            Job::Delete(item) => self.emit(Event::WouldDelete { rel: item.rel }),
            Job::Compare { .. } => {}
        }
    }

    /// Runs every job of the transfer on `options.transfers` workers.
    pub async fn run(self: Arc<Self>) -> Result<Summary> {
        for note in [&self.src.undeclared, &self.dst.undeclared]
            .into_iter()
            .flatten()
        {
            self.emit(Event::Note(note.clone()));
        }
        let workers = self.options.transfers.max(1);
        let (jobs, queue) = mpsc::channel::<Job>(workers * 4);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let mut handles = Vec::new();
        for _ in 0..workers {
            let engine = self.clone();
            let queue = queue.clone();
            handles.push(tokio::spawn(async move {
                loop {
                    let job = queue.lock().await.recv().await;
                    let Some(job) = job else { break };
                    engine.run_job(job).await;
                }
            }));
        }
        let planned = crate::plan::plan(&self, &jobs).await;
        drop(jobs);
        for handle in handles {
            let _ = handle.await;
        }
        planned?;

        // `sync` with `delete`: a second pass once every copy made it, so
        // a failed copy never costs the destination its old version.
        if self.mode == Mode::Sync && self.options.delete && !self.cancelled() {
            if self.events.summary().failed > 0 {
                self.emit(Event::Note(
                    "not deleting anything from the destination: some copies failed".into(),
                ));
            } else {
                crate::plan::delete_extra(&self).await?;
            }
        }
        if let Some(error) = self.single_error.lock().unwrap().take() {
            return Err(error);
        }
        if self.cancelled() {
            return Err(Error::new(
                ErrorKind::Other,
                "interrupted: the transfers in flight were aborted and left nothing behind; \
                 run the command again to finish",
            ));
        }
        Ok(self.events.summary())
    }

    /// Does one job, retrying it as the policy allows, and reports how it
    /// went.
    pub async fn run_job(&self, job: Job) {
        let job = self.complete(job).await;
        let rel = self.shown(job.rel());
        let mut attempt = 0;
        loop {
            if self.cancelled() {
                return;
            }
            self.emit(Event::Started { rel: rel.clone() });
            let result = match &job {
                Job::Copy(item) => self
                    .copy(item)
                    .await
                    .map(|(bytes, verified)| Event::Copied {
                        rel: rel.clone(),
                        bytes,
                        verified,
                    }),
                Job::Delete(item) => crate::io::remove(&self.dst.at(&item.rel))
                    .await
                    .map(|()| Event::Deleted { rel: rel.clone() }),
                Job::Compare { src, dst } => self.compare(src, dst).await,
            };
            let error = match result {
                Ok(event) => return self.emit(event),
                Err(_) if self.cancelled() => return,
                Err(error) => error,
            };
            if let Some(wait) = self.retry.wait(attempt, &error) {
                attempt += 1;
                self.emit(Event::Retrying {
                    rel: rel.clone(),
                    attempt,
                    error,
                });
                tokio::time::sleep(wait).await;
                continue;
            }
            if self.src.tree {
                self.emit(Event::Failed { rel, error });
            } else {
                // One object (put, get, cp of a file): its error is the
                // transfer's.
                *self.single_error.lock().unwrap() = Some(error);
            }
            return;
        }
    }

    /// Fills in the etags a listing left out where they are hashes to
    /// verify against: one `stat` each.
    async fn complete(&self, job: Job) -> Job {
        match job {
            Job::Copy(item) => Job::Copy(self.src.with_etag(item).await),
            Job::Compare { src, dst } => Job::Compare {
                src: self.src.with_etag(src).await,
                dst: self.dst.with_etag(dst).await,
            },
            other => other,
        }
    }
}
