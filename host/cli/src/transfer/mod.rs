//! Transfers between any two sides (remotes or local paths): `cp`, `sync`,
//! `mv` and `check`. Objects move through `--transfers` workers at once,
//! each with its own plugin instance on each side (an instance runs one
//! call at a time), fed from listings that are streamed, never collected.
//! Every copy is verified: its size always, its hash where a side's etag
//! is one (see `hash.rs`). Ctrl-C aborts the writes in flight.

mod hash;
mod report;
mod walk;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, Mutex};
use wharf::{ErrorKind, Remote, WriteOptions};

use crate::app::App;
use crate::location::Location;
use hash::{Check, HashPipe, Hasher, Kind};
pub use report::Summary;
use report::{Event, Reporter};
use walk::{Item, Walk};

/// What a command asks of the transfer.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Objects in flight at once.
    pub transfers: usize,
    /// Further tries of an object that failed.
    pub retries: u32,
    /// Say what would be done, do nothing.
    pub dry_run: bool,
    /// Events as JSON lines on standard output.
    pub json: bool,
    /// A line for every object copied or deleted, not only for problems.
    pub verbose: bool,
    /// `sync`: delete what the source does not have.
    pub delete: bool,
    /// `sync`: compare hashes, not sizes and times, to find changes.
    pub checksum: bool,
    /// `check`: compare the bytes where there is no common hash.
    pub download: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            transfers: 4,
            retries: 3,
            dry_run: false,
            json: false,
            verbose: false,
            delete: false,
            checksum: false,
            download: false,
        }
    }
}

/// Which command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Copy,
    Move,
    Sync,
    Check,
}

/// One side of a transfer: where it is, and its plugin instances.
struct Side {
    /// The file, key, directory or prefix (ending in `/`) the command named.
    base: Location,
    /// Whether `base` is a tree (every object below it) or one object.
    tree: bool,
    /// One instance per worker, and one more for listing.
    remotes: Vec<Arc<Remote>>,
    lister: Option<Arc<Remote>>,
    /// How its etags relate to the content.
    kind: Option<Kind>,
}

impl Side {
    async fn open(app: &App, base: Location, tree: bool, workers: usize) -> Result<Side> {
        let (mut remotes, mut lister, mut kind) = (Vec::new(), None, None);
        if let Location::Remote { remote, .. } = &base {
            for _ in 0..workers {
                remotes.push(Arc::new(app.remote(remote).await?));
            }
            let listing = Arc::new(app.remote(remote).await?);
            kind = Kind::of(&listing, &app.config.remote(remote)?.options);
            lister = Some(listing);
        }
        Ok(Side {
            base,
            tree,
            remotes,
            lister,
            kind,
        })
    }

    /// Where the object `rel` (relative to a tree, empty for one object)
    /// lives.
    fn at(&self, rel: &str) -> Location {
        if rel.is_empty() {
            return self.base.clone();
        }
        match &self.base {
            Location::Local(path) => Location::Local(path.join(rel)),
            Location::Remote { remote, key } => Location::Remote {
                remote: remote.clone(),
                key: format!("{key}{rel}"),
            },
        }
    }

    fn remote_name(&self) -> Option<&str> {
        match &self.base {
            Location::Remote { remote, .. } => Some(remote),
            Location::Local(_) => None,
        }
    }

    /// `item` with its etag, asked for if the listing had none and this
    /// side's etags are hashes.
    async fn with_etag(&self, worker: usize, mut item: Item) -> Item {
        if item.etag.is_none() && self.kind.is_some() {
            if let (Location::Remote { key, .. }, Some(remote)) =
                (self.at(&item.rel), self.remotes.get(worker))
            {
                if let Ok(meta) = remote.stat(&key).await {
                    item.etag = meta.etag;
                }
            }
        }
        item
    }

    /// A sorted stream of the objects of this side.
    async fn walk(&self) -> Result<Walk<'_>> {
        match (&self.base, &self.lister) {
            (Location::Local(path), _) => Walk::local(path),
            (Location::Remote { key, .. }, Some(remote)) => Walk::remote(remote, key).await,
            _ => unreachable!("a remote side has a lister"),
        }
    }

    /// The one object this side names, as an item (`rel` empty).
    async fn item(&self) -> Result<Item> {
        match (&self.base, &self.lister) {
            (Location::Local(path), _) => {
                let meta = std::fs::metadata(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Ok(Item {
                    rel: String::new(),
                    size: meta.len(),
                    modified: meta.modified().ok().map(walk::timestamp),
                    etag: None,
                })
            }
            (Location::Remote { key, .. }, Some(remote)) => {
                let meta = remote.stat(key).await?;
                Ok(Item {
                    rel: String::new(),
                    size: meta.size,
                    modified: meta.last_modified,
                    etag: meta.etag,
                })
            }
            _ => unreachable!("a remote side has a lister"),
        }
    }
}

/// One unit of work for a worker.
#[derive(Debug)]
enum Job {
    /// Copy (and for `mv`, then delete) the source object.
    Copy(Item),
    /// Delete the destination object (`sync --delete`).
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

/// Runs `mode` from `src` to `dst`.
pub async fn run(
    app: &App,
    mode: Mode,
    src: &Location,
    dst: &Location,
    recursive: bool,
    settings: &Settings,
) -> Result<Summary> {
    let workers = settings.transfers.max(1);
    let tree = match mode {
        Mode::Copy | Mode::Move => recursive,
        Mode::Sync | Mode::Check => true,
    };
    let src_side = Side::open(app, src.clone(), tree, workers).await?;
    let tree = tree && is_tree(&src_side).await?;
    if !tree && matches!(mode, Mode::Sync | Mode::Check) {
        bail!(crate::UsageError(format!(
            "{src} is not a directory or prefix; sync and check compare trees"
        )));
    }
    let mut src_side = src_side;
    src_side.tree = tree;
    if tree {
        src_side.base = as_tree(&src_side.base);
    }
    let dst_base = if tree {
        as_tree(dst)
    } else {
        crate::location::destination_for(src, dst)?
    };
    let dst_side = Side::open(app, dst_base, tree, workers).await?;

    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.store(true, Ordering::SeqCst);
                eprintln!("wharf: stopping: aborting the transfers in flight (Ctrl-C again to quit at once)");
            }
            // A second Ctrl-C does not wait for the aborts.
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        });
    }
    let reporter = Reporter::new(mode, settings);
    let src_side = Arc::new(src_side);
    let dst_side = Arc::new(dst_side);
    let engine = Engine {
        mode,
        settings: settings.clone(),
        src: src_side.clone(),
        dst: dst_side.clone(),
        cancel: cancel.clone(),
        reporter: reporter.clone(),
        single_error: Arc::new(Mutex::new(None)),
    };

    let (jobs, queue) = mpsc::channel::<Job>(workers * 4);
    let queue = Arc::new(Mutex::new(queue));
    let mut handles = Vec::new();
    for worker in 0..workers {
        let engine = engine.clone();
        let queue = queue.clone();
        handles.push(tokio::spawn(async move {
            loop {
                let job = queue.lock().await.recv().await;
                let Some(job) = job else { break };
                engine.run_job(worker, job).await;
            }
        }));
    }

    let planned = plan(&engine, &jobs).await;
    drop(jobs);
    for handle in handles {
        let _ = handle.await;
    }
    planned?;

    // `sync --delete`: a second pass once every copy made it, so a failed
    // copy never costs the destination its old version.
    if mode == Mode::Sync && settings.delete && !cancel.load(Ordering::SeqCst) {
        if reporter.failed() > 0 {
            reporter.event(Event::Note(
                "not deleting anything from the destination: some copies failed".into(),
            ));
        } else {
            delete_extra(&engine).await?;
        }
    }
    if let Some(error) = engine.single_error.lock().await.take() {
        reporter.finish_quietly();
        return Err(error);
    }
    let summary = reporter.finish();
    if cancel.load(Ordering::SeqCst) {
        bail!("interrupted: the transfers in flight were aborted and left nothing behind; run the command again to finish");
    }
    Ok(summary)
}

/// Feeds the workers: the one object, or the merge of both sides'
/// listings.
async fn plan(engine: &Engine, jobs: &mpsc::Sender<Job>) -> Result<()> {
    let (src, dst) = (&engine.src, &engine.dst);
    let send = |job: Job| async {
        engine.reporter.planned(&job);
        if engine.settings.dry_run && !matches!(job, Job::Compare { .. }) {
            engine.reporter.event(Event::WouldDo(job));
            return Ok(());
        }
        jobs.send(job)
            .await
            .map_err(|_| anyhow!("the workers stopped"))
    };
    if !src.tree {
        let item = src.item().await?;
        return send(Job::Copy(item)).await;
    }
    let mut from = src.walk().await?;
    match engine.mode {
        Mode::Copy | Mode::Move => {
            while let Some(item) = from.next().await? {
                if engine.cancelled() {
                    break;
                }
                send(Job::Copy(item)).await?;
            }
        }
        Mode::Sync | Mode::Check => {
            let mut to = dst.walk().await?;
            let (mut a, mut b) = (from.next().await?, to.next().await?);
            loop {
                if engine.cancelled() {
                    break;
                }
                match (a.take(), b.take()) {
                    (None, None) => break,
                    (Some(s), None) => {
                        engine.only_in_source(s, &send).await?;
                        a = from.next().await?;
                    }
                    (None, Some(d)) => {
                        engine.only_in_destination(d);
                        b = to.next().await?;
                    }
                    (Some(s), Some(d)) => match s.rel.as_bytes().cmp(d.rel.as_bytes()) {
                        std::cmp::Ordering::Less => {
                            engine.only_in_source(s, &send).await?;
                            a = from.next().await?;
                            b = Some(d);
                        }
                        std::cmp::Ordering::Greater => {
                            engine.only_in_destination(d);
                            a = Some(s);
                            b = to.next().await?;
                        }
                        std::cmp::Ordering::Equal => {
                            engine.in_both(s, d, &send).await?;
                            a = from.next().await?;
                            b = to.next().await?;
                        }
                    },
                }
            }
        }
    }
    Ok(())
}

/// The second pass of `sync --delete`.
async fn delete_extra(engine: &Engine) -> Result<()> {
    let mut from = engine.src.walk().await?;
    let mut to = engine.dst.walk().await?;
    let mut a = from.next().await?;
    while let Some(d) = to.next().await? {
        while a
            .as_ref()
            .is_some_and(|s| s.rel.as_bytes() < d.rel.as_bytes())
        {
            a = from.next().await?;
        }
        if a.as_ref().is_some_and(|s| s.rel == d.rel) || engine.cancelled() {
            continue;
        }
        let job = Job::Delete(d);
        engine.reporter.planned(&job);
        if engine.settings.dry_run {
            engine.reporter.event(Event::WouldDo(job));
        } else {
            engine.run_job(0, job).await;
        }
    }
    Ok(())
}

async fn is_tree(side: &Side) -> Result<bool> {
    match &side.base {
        Location::Local(path) => Ok(path.is_dir()),
        Location::Remote { key, .. } => {
            if key.is_empty() || key.ends_with('/') {
                return Ok(true);
            }
            let remote = side.lister.as_ref().expect("a remote side has a lister");
            let mut below = remote.list(&format!("{key}/"), None).await?;
            Ok(!below.next_page().await?.is_empty())
        }
    }
}

fn as_tree(location: &Location) -> Location {
    match location {
        Location::Local(path) => Location::Local(path.clone()),
        Location::Remote { remote, key } => Location::Remote {
            remote: remote.clone(),
            key: crate::location::as_prefix(key),
        },
    }
}

/// What every worker shares.
#[derive(Clone)]
struct Engine {
    mode: Mode,
    settings: Settings,
    src: Arc<Side>,
    dst: Arc<Side>,
    cancel: Arc<AtomicBool>,
    reporter: Reporter,
    /// The error of a one-object transfer that failed.
    single_error: Arc<Mutex<Option<anyhow::Error>>>,
}

/// How a copy was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// By the backend itself (a server-side copy), and its size.
    ServerSide,
    /// By a hash of the content.
    Hash(&'static str),
    /// By its size only: no hash both sides know.
    Size,
}

impl Engine {
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    async fn only_in_source<F, Fut>(&self, item: Item, send: &F) -> Result<()>
    where
        F: Fn(Job) -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        match self.mode {
            Mode::Check => {
                self.reporter.event(Event::Missing(item.rel));
                Ok(())
            }
            _ => send(Job::Copy(item)).await,
        }
    }

    fn only_in_destination(&self, item: Item) {
        if self.mode == Mode::Check {
            self.reporter.event(Event::Extra(item.rel));
        }
        // sync: handled by the deletion pass, after the copies.
    }

    async fn in_both<F, Fut>(&self, src: Item, dst: Item, send: &F) -> Result<()>
    where
        F: Fn(Job) -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        match self.mode {
            Mode::Check => send(Job::Compare { src, dst }).await,
            _ => {
                if self.unchanged(&src, &dst) {
                    self.reporter.event(Event::Skipped(src.rel));
                    Ok(())
                } else {
                    send(Job::Copy(src)).await
                }
            }
        }
    }

    /// Whether `sync` may leave `dst` as it is: same size, and the same
    /// hash where both sides have one of the same kind, else not older
    /// than the source (a copy is always newer than its source, since
    /// Wharf does not carry modification times over).
    fn unchanged(&self, src: &Item, dst: &Item) -> bool {
        if src.size != dst.size {
            return false;
        }
        if let (Some(a), Some(b), Some(ka), Some(kb)) =
            (&src.etag, &dst.etag, self.src.kind, self.dst.kind)
        {
            if ka == kb && !a.contains('-') && !b.contains('-') {
                return a == b;
            }
        }
        if self.settings.checksum {
            // Left to the copy job's comparison: unknown here.
            return false;
        }
        // Whole seconds, as most backends keep them: a copy made in the
        // same second as the source's last change may predate it, so only
        // a copy from a later second counts as up to date (at worst such a
        // file is copied once more).
        match (src.modified, dst.modified) {
            (Some(s), Some(d)) => s.seconds < d.seconds,
            _ => false,
        }
    }

    /// Fills in the etags a listing left out (some S3 servers list none)
    /// where they are hashes to verify against: one `stat` each.
    async fn complete(&self, worker: usize, job: Job) -> Job {
        match job {
            Job::Copy(item) => Job::Copy(self.src.with_etag(worker, item).await),
            Job::Compare { src, dst } => Job::Compare {
                src: self.src.with_etag(worker, src).await,
                dst: self.dst.with_etag(worker, dst).await,
            },
            other => other,
        }
    }

    async fn run_job(&self, worker: usize, job: Job) {
        let job = self.complete(worker, job).await;
        // One object (not a tree) is named by its whole location.
        let rel = match job.rel() {
            "" => self.src.base.to_string(),
            rel => rel.to_owned(),
        };
        let mut attempt = 0;
        loop {
            if self.cancelled() {
                return;
            }
            let result = match &job {
                Job::Copy(item) => {
                    self.copy(worker, item)
                        .await
                        .map(|(bytes, verified)| Event::Copied {
                            rel: rel.clone(),
                            bytes,
                            verified,
                        })
                }
                Job::Delete(item) => self
                    .delete_dst(worker, &item.rel)
                    .await
                    .map(|()| Event::Deleted(rel.clone())),
                Job::Compare { src, dst } => self.compare(worker, src, dst).await,
            };
            match result {
                Ok(event) => {
                    self.reporter.event(event);
                    return;
                }
                Err(_) if self.cancelled() => return,
                Err(e) if attempt < self.settings.retries && retryable(&e) => {
                    attempt += 1;
                    let wait =
                        retry_after(&e).unwrap_or(Duration::from_millis(500 << attempt.min(4)));
                    self.reporter.event(Event::Retrying {
                        rel: rel.clone(),
                        attempt,
                        error: format!("{e:#}"),
                    });
                    tokio::time::sleep(wait.min(Duration::from_secs(30))).await;
                }
                // One object (put, get, cp of a file): its error is the
                // command's, with its exit code.
                Err(e) if !self.src.tree => {
                    self.reporter.count_failure();
                    *self.single_error.lock().await = Some(e);
                    return;
                }
                Err(e) => {
                    self.reporter.event(Event::Failed {
                        rel: rel.clone(),
                        error: format!("{e:#}"),
                    });
                    return;
                }
            }
        }
    }

    /// Copies `item`, verifies it, and for `mv` deletes the source.
    async fn copy(&self, worker: usize, item: &Item) -> Result<(u64, Verified)> {
        let (from, to) = (self.src.at(&item.rel), self.dst.at(&item.rel));
        let src_remote = self.src.remotes.get(worker);
        let dst_remote = self.dst.remotes.get(worker);
        let result = match (&from, &to) {
            (Location::Remote { key: a, .. }, Location::Remote { key: b, .. })
                if self.src.remote_name() == self.dst.remote_name()
                    && src_remote.is_some_and(|r| r.plugin().info().capabilities.copy) =>
            {
                let meta = src_remote.unwrap().copy(a, b).await?;
                if meta.size != item.size {
                    bail!(
                        "{to}: the server-side copy has {} bytes, the source {}",
                        meta.size,
                        item.size
                    );
                }
                self.reporter.bytes(meta.size);
                (meta.size, Verified::ServerSide)
            }
            _ => {
                self.stream(item, &from, &to, src_remote, dst_remote)
                    .await?
            }
        };
        if self.mode == Mode::Move {
            match (&from, src_remote) {
                (Location::Remote { key, .. }, Some(remote)) => remote.delete(key).await?,
                (Location::Local(path), _) => tokio::fs::remove_file(path)
                    .await
                    .with_context(|| format!("copied, but cannot remove {}", path.display()))?,
                _ => unreachable!(),
            }
        }
        Ok(result)
    }

    /// Streams the bytes of `from` into `to`, hashing them on the way.
    async fn stream(
        &self,
        item: &Item,
        from: &Location,
        to: &Location,
        src_remote: Option<&Arc<Remote>>,
        dst_remote: Option<&Arc<Remote>>,
    ) -> Result<(u64, Verified)> {
        // Which hashes to compute: the source's (to check the download)
        // and the destination's (to check the upload).
        let src_kind = self.src.kind.filter(|_| item.etag.is_some());
        let dst_kind = self.dst.kind;
        let mut hasher = Hasher::default();
        if let (Some(kind), Some(etag)) = (src_kind, &item.etag) {
            hasher.add(kind, Some(etag.contains('-')));
        }
        if let Some(kind) = dst_kind {
            // The plugin uploads in parts above its part size.
            let multipart = match kind {
                Kind::S3 { part_size } => Some(item.size > part_size),
                Kind::Dropbox => None,
            };
            hasher.add(kind, multipart);
        }
        let mut hasher = HashPipe::new(hasher, item.size);

        let mut reader = match (from, src_remote) {
            (Location::Local(path), _) => Reader::Local(
                tokio::fs::File::open(path)
                    .await
                    .with_context(|| format!("cannot open {}", path.display()))?,
            ),
            (Location::Remote { key, .. }, Some(remote)) => {
                Reader::Remote(remote.open_read(key, None).await?)
            }
            _ => unreachable!(),
        };
        let content_type = mime_guess::from_path(item.rel.rsplit('/').next().unwrap_or("")).first();
        let mut writer = match (to, dst_remote) {
            (Location::Local(path), _) => Writer::local(path)?,
            (Location::Remote { key, .. }, Some(remote)) => Writer::Remote(
                remote
                    .open_write(
                        key,
                        WriteOptions {
                            content_type: content_type.map(|m| m.to_string()),
                            metadata: Vec::new(),
                            size_hint: Some(item.size),
                        },
                    )
                    .await?,
            ),
            _ => unreachable!(),
        };
        let mut total = 0u64;
        loop {
            if self.cancelled() {
                writer.abort().await;
                bail!("interrupted");
            }
            let chunk = match reader.read().await {
                Ok(chunk) => chunk,
                Err(e) => {
                    writer.abort().await;
                    return Err(e.context(format!("reading {from}")));
                }
            };
            if chunk.is_empty() {
                break;
            }
            if let Err(e) = writer.write(&chunk).await {
                writer.abort().await;
                return Err(e.context(format!("writing {to}")));
            }
            total += chunk.len() as u64;
            self.reporter.bytes(chunk.len() as u64);
            hasher.update(chunk).await;
        }
        if total != item.size {
            writer.abort().await;
            bail!(
                "{from} changed while it was copied: {total} bytes read, {} listed",
                item.size
            );
        }
        let written = writer.finish(to).await?;
        if written.size != total {
            self.remove_bad(to, dst_remote).await;
            bail!(
                "{to}: {} bytes arrived of {total} sent; the copy was removed",
                written.size
            );
        }
        let hashes = hasher.finish().await;
        let mut verified = Verified::Size;
        if let (Some(kind), Some(etag)) = (src_kind, &item.etag) {
            match hashes.check(kind, etag) {
                Check::Different { expected, got } => {
                    self.remove_bad(to, dst_remote).await;
                    bail!("checksum mismatch reading {from}: the bytes hash to {expected}, the source says {got}; the copy was removed");
                }
                Check::Same => verified = Verified::Hash(kind_name(kind)),
                Check::Unknown => {}
            }
        }
        if let (Some(kind), Some(etag)) = (dst_kind, &written.etag) {
            match hashes.check(kind, etag) {
                Check::Different { expected, got } => {
                    self.remove_bad(to, dst_remote).await;
                    bail!("checksum mismatch writing {to}: sent bytes hashing to {expected}, the destination stored {got}; the copy was removed");
                }
                Check::Same => verified = Verified::Hash(kind_name(kind)),
                Check::Unknown => {}
            }
        }
        Ok((total, verified))
    }

    async fn remove_bad(&self, to: &Location, remote: Option<&Arc<Remote>>) {
        match (to, remote) {
            (Location::Remote { key, .. }, Some(remote)) => {
                let _ = remote.delete(key).await;
            }
            (Location::Local(path), _) => {
                let _ = tokio::fs::remove_file(path).await;
            }
            _ => {}
        }
    }

    async fn delete_dst(&self, worker: usize, rel: &str) -> Result<()> {
        match (self.dst.at(rel), self.dst.remotes.get(worker)) {
            (Location::Remote { key, .. }, Some(remote)) => Ok(remote.delete(&key).await?),
            (Location::Local(path), _) => tokio::fs::remove_file(&path)
                .await
                .with_context(|| format!("cannot remove {}", path.display())),
            _ => unreachable!(),
        }
    }

    /// `check` of one object on both sides.
    async fn compare(&self, worker: usize, src: &Item, dst: &Item) -> Result<Event> {
        let rel = src.rel.clone();
        if src.size != dst.size {
            return Ok(Event::Differs {
                rel,
                why: format!(
                    "{} bytes in the source, {} in the destination",
                    src.size, dst.size
                ),
            });
        }
        // --download: the bytes of both sides, whatever the tags say (a
        // server's tag can be right about bytes it no longer has).
        if self.settings.download {
            let a = self
                .hash_of(worker, &self.src, src, Kind::Dropbox, None)
                .await?;
            let b = self
                .hash_of(worker, &self.dst, dst, Kind::Dropbox, None)
                .await?;
            return Ok(match a.check(Kind::Dropbox, &b.dropbox_hash()) {
                Check::Same => Event::Same { rel, by: "content" },
                _ => Event::Differs {
                    rel,
                    why: "the bytes differ".into(),
                },
            });
        }
        // The same kind of tag on both sides.
        if let (Some(a), Some(b), Some(ka), Some(kb)) =
            (&src.etag, &dst.etag, self.src.kind, self.dst.kind)
        {
            if ka == kb && (a == b || (!a.contains('-') && !b.contains('-'))) {
                return Ok(if a == b {
                    Event::Same {
                        rel,
                        by: kind_name(ka),
                    }
                } else {
                    Event::Differs {
                        rel,
                        why: format!("{} differs: {a} and {b}", kind_name(ka)),
                    }
                });
            }
        }
        // One side's tag is a hash the other side's bytes can be checked
        // against, where that side is local (reading it moves nothing).
        let tagged = [
            (self.src.kind, &src.etag, &self.dst, dst),
            (self.dst.kind, &dst.etag, &self.src, src),
        ];
        for (kind, etag, other, other_item) in tagged {
            let (Some(kind), Some(etag)) = (kind, etag) else {
                continue;
            };
            if !matches!(other.base, Location::Local(_)) {
                continue;
            }
            let hashes = self
                .hash_of(worker, other, other_item, kind, Some(etag.contains('-')))
                .await?;
            match hashes.check(kind, etag) {
                Check::Same => {
                    return Ok(Event::Same {
                        rel,
                        by: kind_name(kind),
                    })
                }
                Check::Different { expected, got } => {
                    return Ok(Event::Differs {
                        rel,
                        why: format!(
                            "{} differs: the bytes hash to {expected}, the tag is {got}",
                            kind_name(kind)
                        ),
                    })
                }
                Check::Unknown => {}
            }
        }
        Ok(Event::SizeOnly(rel))
    }

    /// Reads the object `item` of `side` and hashes it.
    async fn hash_of(
        &self,
        worker: usize,
        side: &Side,
        item: &Item,
        kind: Kind,
        multipart: Option<bool>,
    ) -> Result<hash::Hashes> {
        let mut hasher = Hasher::default();
        hasher.add(kind, multipart);
        let mut reader = match (side.at(&item.rel), side.remotes.get(worker)) {
            (Location::Local(path), _) => Reader::Local(
                tokio::fs::File::open(&path)
                    .await
                    .with_context(|| format!("cannot open {}", path.display()))?,
            ),
            (Location::Remote { key, .. }, Some(remote)) => {
                Reader::Remote(remote.open_read(&key, None).await?)
            }
            _ => unreachable!(),
        };
        loop {
            if self.cancelled() {
                bail!("interrupted");
            }
            let chunk = reader.read().await?;
            if chunk.is_empty() {
                return Ok(hasher.finish());
            }
            hasher.update(&chunk);
        }
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::S3 { .. } => "md5",
        Kind::Dropbox => "dropbox content hash",
    }
}

/// Failures worth another try: the network and the server, and copies
/// that did not arrive whole. Not: a missing source, a refused key or
/// credential, a bad configuration.
fn retryable(error: &anyhow::Error) -> bool {
    match error.chain().find_map(|c| c.downcast_ref::<wharf::Error>()) {
        Some(e) => !matches!(
            e.kind(),
            ErrorKind::NotFound
                | ErrorKind::InvalidKey
                | ErrorKind::InvalidConfig
                | ErrorKind::PermissionDenied
                | ErrorKind::Unsupported
                | ErrorKind::AlreadyExists
        ),
        None => true,
    }
}

fn retry_after(error: &anyhow::Error) -> Option<Duration> {
    match error
        .chain()
        .find_map(|c| c.downcast_ref::<wharf::Error>())?
        .kind()
    {
        ErrorKind::RateLimited { retry_after } => *retry_after,
        _ => None,
    }
}

/// Where bytes come from.
enum Reader<'r> {
    Local(tokio::fs::File),
    Remote(wharf::ObjectReader<'r>),
}

impl Reader<'_> {
    async fn read(&mut self) -> Result<Vec<u8>> {
        match self {
            Reader::Local(file) => {
                let mut chunk = vec![0; wharf::CHUNK_SIZE];
                let mut filled = 0;
                while filled < chunk.len() {
                    let n = file.read(&mut chunk[filled..]).await?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                chunk.truncate(filled);
                Ok(chunk)
            }
            Reader::Remote(reader) => Ok(reader.read().await?),
        }
    }
}

/// What a finished write reports.
struct Written {
    size: u64,
    etag: Option<String>,
}

/// Where bytes go: a local file is written beside its place and renamed
/// into it when complete.
enum Writer<'r> {
    Local {
        temp: tempfile::NamedTempFile,
        file: tokio::fs::File,
        to: std::path::PathBuf,
    },
    Remote(wharf::ObjectWriter<'r>),
}

impl Writer<'_> {
    fn local(to: &std::path::Path) -> Result<Self> {
        let dir = match to.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
        let temp = tempfile::Builder::new()
            .prefix(".wharf-")
            .suffix(".part")
            .tempfile_in(&dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        let file = tokio::fs::File::from_std(temp.reopen()?);
        Ok(Writer::Local {
            temp,
            file,
            to: to.to_path_buf(),
        })
    }

    async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        match self {
            Writer::Local { file, to, .. } => file
                .write_all(chunk)
                .await
                .with_context(|| format!("cannot write {}", to.display())),
            Writer::Remote(writer) => Ok(writer.write(chunk).await?),
        }
    }

    async fn finish(self, to: &Location) -> Result<Written> {
        match self {
            Writer::Local { temp, mut file, to } => {
                file.flush().await?;
                drop(file);
                let size = temp.as_file().metadata()?.len();
                temp.persist(&to).with_context(|| {
                    format!("cannot move the copy into place at {}", to.display())
                })?;
                Ok(Written { size, etag: None })
            }
            Writer::Remote(writer) => {
                let meta = writer
                    .finish()
                    .await
                    .with_context(|| format!("finishing {to}"))?;
                Ok(Written {
                    size: meta.size,
                    etag: meta.etag,
                })
            }
        }
    }

    async fn abort(self) {
        match self {
            // Dropping the temporary file removes it.
            Writer::Local { .. } => {}
            Writer::Remote(writer) => {
                let _ = writer.abort().await;
            }
        }
    }
}
