//! Wharf's transfer engine: `copy`, `sync`, `check`, `move` and
//! [`delete_prefix`] between local paths and remotes, for every front end
//! (the `wharf` command, programs embedding Wharf, the Python package).
//!
//! Objects are streamed a chunk at a time through `transfers` workers,
//! fed from listings read a page at a time; every copy is checked (its
//! size, and a hash where a side's etags are hashes) and a bad copy
//! removed; transient failures are retried by one policy; a cancelled
//! transfer aborts its writes in flight, leaving nothing. The engine
//! prints nothing: it reports typed [`Event`]s to an [`Observer`] and
//! returns a [`Summary`].
//!
//! Syncing one remote into another:
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() -> wharf::Result<()> {
//! use std::sync::Arc;
//! use wharf::{Limits, Remote, Runtime};
//! use wharf_transfer::{Endpoint, Event, Transfer};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let runtime = Runtime::builder().cache_dir(dir.path().join("cache")).build()?;
//! let fs = runtime.load_bundled("fs").await?;
//! let remote = |name: &str| -> wharf::Result<Arc<Remote>> {
//!     let root = dir.path().join(name).display().to_string();
//!     Ok(Arc::new(Remote::new(name, fs.clone(), vec![("root".into(), root)], Limits::default())?))
//! };
//! let (photos, backup) = (remote("photos")?, remote("backup")?);
//! photos.put("2026/a.jpg", &b"jpeg bytes"[..], Default::default()).await?;
//!
//! let summary = Transfer::sync(Endpoint::remote(photos, ""), Endpoint::remote(backup.clone(), ""))
//!     .observe(|event: &Event| {
//!         if let Event::Copied { rel, bytes, .. } = event {
//!             println!("copied {rel} ({bytes} bytes)");
//!         }
//!     })
//!     .run()
//!     .await?;
//! assert_eq!(summary.copied, 1);
//! assert_eq!(backup.stat("2026/a.jpg").await?.size, 10);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod bandwidth;
mod check;
mod copy;
mod delete;
mod endpoint;
mod engine;
mod event;
mod filter;
mod io;
mod location;
mod plan;
mod ranges;
mod retry;
mod staged;
mod verify;
mod walk;

use std::sync::{Arc, Mutex};

use wharf::{Error, ErrorKind, Result};

pub use bandwidth::{Bandwidth, BandwidthLimit, Flow, Paced, Rates};
pub use delete::{delete_prefix, DeleteOptions};
pub use endpoint::{as_prefix, Endpoint};
pub use engine::{Cancel, Mode};
pub use event::{Event, Observer, Summary, Verified};
pub use filter::{parse_duration, Filter};
pub use location::Location;

use engine::{Engine, Side};
use event::{Counter, Silent};
use retry::RetryPolicy;

/// How a transfer runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Objects in flight at once, each on plugin instances of its own.
    pub transfers: usize,
    /// Further tries of an object that failed with a transient error.
    pub retries: u32,
    /// Say what would be done ([`Event::WouldCopy`], [`Event::WouldDelete`]),
    /// change nothing.
    pub dry_run: bool,
    /// `sync`: delete what the source does not have (after every copy
    /// made it).
    pub delete: bool,
    /// `sync`: find changes by hash rather than by size and time.
    pub checksum: bool,
    /// `check`: compare the bytes where there is no common hash.
    pub download: bool,
    /// Follow symbolic links in a local tree (rclone's `-L`); by default
    /// they are passed over with a [`Event::Note`], so a transfer never
    /// leaves the tree it was given.
    pub follow_links: bool,
    /// An object from a remote that reads ranges into a local file, of at
    /// least `multi_thread_cutoff` bytes, is read in this many ranges at
    /// once, each on an instance of its own, where no hash needs its bytes
    /// in order (rclone's `--multi-thread-streams`); 1 reads it in one.
    pub multi_thread_streams: usize,
    /// See `multi_thread_streams` (rclone's `--multi-thread-cutoff`).
    pub multi_thread_cutoff: u64,
    /// Which objects of a tree to take, on both sides (so a sync leaves
    /// what it does not take alone); `None` takes all.
    pub filter: Option<Arc<Filter>>,
    /// A cap on the bytes copies move each second, shared by every worker
    /// (rclone's `--bwlimit`); `None` moves them as fast as they go.
    pub bandwidth: Option<Arc<BandwidthLimit>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            transfers: 4,
            retries: 3,
            dry_run: false,
            delete: false,
            checksum: false,
            download: false,
            follow_links: false,
            // rclone's 4 streams, on any number of cores: a stream waits
            // on the disk and on the store below between its chunks, and
            // more streams than cores keep every core busy meanwhile (1 GiB
            // out of crypt on 2 cores: 2.4 s with 2, 1.6 s with 4, the
            // same CPU time). Each costs an instance: about 1.5 MiB.
            multi_thread_streams: 4,
            multi_thread_cutoff: 256 << 20,
            filter: None,
            bandwidth: None,
        }
    }
}

/// A transfer to run: what, from where to where, how, and who hears of
/// it.
pub struct Transfer {
    mode: Mode,
    src: Endpoint,
    dst: Endpoint,
    recursive: bool,
    options: Options,
    observer: Arc<dyn Observer>,
    cancel: Cancel,
    probed: Option<Probe>,
}

impl Transfer {
    /// A transfer of `mode`. Copy and move take one object unless
    /// [`Transfer::recursive`]; sync and check always take trees.
    pub fn new(mode: Mode, src: Endpoint, dst: Endpoint) -> Self {
        Transfer {
            mode,
            src,
            dst,
            recursive: false,
            options: Options::default(),
            observer: Arc::new(Silent),
            cancel: Cancel::new(),
            probed: None,
        }
    }

    /// Copies `src` to `dst`. A destination that is a directory or a
    /// prefix (ends in `/`, or is a whole remote) receives the source
    /// under its own name.
    pub fn copy(src: Endpoint, dst: Endpoint) -> Self {
        Self::new(Mode::Copy, src, dst)
    }

    /// Copies `src` to `dst`, checks each copy, then deletes its source.
    pub fn moving(src: Endpoint, dst: Endpoint) -> Self {
        Self::new(Mode::Move, src, dst)
    }

    /// Makes the tree `dst` match the tree `src`: copies what is new or
    /// changed; with [`Options::delete`], deletes what `src` does not have.
    pub fn sync(src: Endpoint, dst: Endpoint) -> Self {
        Self::new(Mode::Sync, src, dst)
    }

    /// Compares the trees `src` and `dst`, changing nothing.
    pub fn check(src: Endpoint, dst: Endpoint) -> Self {
        Self::new(Mode::Check, src, dst)
    }

    /// Copy or move everything below `src` when it is a directory or a
    /// prefix, not just one object.
    pub fn recursive(mut self, recursive: bool) -> Self {
        self.recursive = recursive;
        self
    }

    /// What [`probe`] found of the source, for a caller that asked before
    /// building the transfer: it is not asked again, and its listing is
    /// walked on from.
    pub fn probed(mut self, probe: Probe) -> Self {
        self.probed = Some(probe);
        self
    }

    /// How to run.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Who hears of each [`Event`], from any worker.
    pub fn observe(mut self, observer: impl Observer + 'static) -> Self {
        self.observer = Arc::new(observer);
        self
    }

    /// A flag that stops the transfer when set.
    pub fn cancel_on(mut self, cancel: Cancel) -> Self {
        self.cancel = cancel;
        self
    }

    /// Runs the transfer to its end. A tree's failed objects are
    /// [`Event::Failed`] and counted in the [`Summary`]; a one-object
    /// transfer's failure is its error. A cancelled transfer is an error.
    pub async fn run(self) -> Result<Summary> {
        let Transfer {
            mode,
            src,
            dst,
            recursive,
            options,
            observer,
            cancel,
            probed,
        } = self;
        let tree = match mode {
            Mode::Copy | Mode::Move => recursive,
            Mode::Sync | Mode::Check => true,
        };
        let (tree, listed) = match (tree, probed) {
            (false, _) => (false, None),
            (true, Some(probe)) => (probe.tree, probe.listed),
            (true, None) => {
                let probe = probe(&src).await?;
                (probe.tree, probe.listed)
            }
        };
        if !tree && matches!(mode, Mode::Sync | Mode::Check) {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!("{src} is not a directory or prefix; sync and check compare trees"),
            ));
        }
        let (src_base, dst_base) = if tree {
            (src.as_tree(), dst.as_tree())
        } else {
            let dst = destination_for(&src, &dst)?;
            (src, dst)
        };
        let engine = Arc::new(Engine {
            mode,
            src: Side::new(src_base, tree, options.follow_links, options.filter.clone())
                .await?
                .resuming(listed),
            dst: Side::new(dst_base, tree, options.follow_links, options.filter.clone()).await?,
            retry: RetryPolicy {
                retries: options.retries,
            },
            options,
            cancel,
            events: Counter::new(observer),
            single_error: Mutex::new(None),
        });
        engine.run().await
    }
}

/// Whether `at` is a tree: a local directory, a prefix, or a key with
/// objects below it.
pub async fn is_tree(at: &Endpoint) -> Result<bool> {
    Ok(probe(at).await?.is_tree())
}

/// What an endpoint is, one object or a tree, as [`probe`] found it; for a
/// key with objects below it, with the first page of the listing that
/// showed them, which a [`Transfer`] given it ([`Transfer::probed`]) walks
/// on from rather than asking the backend again (a round trip fewer on a
/// far link).
pub struct Probe {
    tree: bool,
    listed: Option<walk::Listed>,
}

impl Probe {
    /// Whether the endpoint is a tree.
    pub fn is_tree(&self) -> bool {
        self.tree
    }
}

/// Whether `at` is a tree (a local directory, a prefix, or a key with
/// objects below it), keeping what was listed to find out.
pub async fn probe(at: &Endpoint) -> Result<Probe> {
    match at {
        Endpoint::Local(path) => Ok(Probe {
            tree: path.is_dir(),
            listed: None,
        }),
        Endpoint::Remote { remote, key } => {
            if key.is_empty() || key.ends_with('/') {
                return Ok(Probe {
                    tree: true,
                    listed: None,
                });
            }
            let mut lister = remote.list_shared(&format!("{key}/"), None).await?;
            let first = lister.next_page().await?;
            if first.is_empty() {
                return Ok(Probe {
                    tree: false,
                    listed: None,
                });
            }
            Ok(Probe {
                tree: true,
                listed: Some(walk::Listed { lister, first }),
            })
        }
    }
}

/// A destination that is a directory or prefix receives the source under
/// its own name.
pub fn destination_for(src: &Endpoint, dst: &Endpoint) -> Result<Endpoint> {
    if !dst.is_container() {
        return Ok(dst.clone());
    }
    let Some(name) = src.base_name() else {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            format!(
                "cannot tell what to name the copy of {src} in {dst}; give the destination a name"
            ),
        ));
    };
    Ok(match dst {
        Endpoint::Local(path) => Endpoint::Local(path.join(name)),
        Endpoint::Remote { remote, key } => {
            Endpoint::remote(remote.clone(), format!("{key}{name}"))
        }
    })
}
