//! Commands on objects and directories: `cat`, `rcat`, `deletefile`,
//! `delete`, `purge`, `mkdir`, `rmdir`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use wharf::{ByteRange, Entry, ErrorKind, Span, WriteOptions};
use wharf_transfer::{delete_prefix, DeleteOptions, Event, Flow};

use crate::context::{Context, Place};
use crate::fail::{self, Failure, DIR_NOT_FOUND, FILE_NOT_FOUND};

/// `rcat`: standard input, of any length, into one object; streamed, and
/// nothing is stored unless all of it arrived.
pub async fn rcat(ctx: &Context<'_>, arg: &str) -> Result<(), Failure> {
    let (remote, key) = ctx.object(arg).await?;
    if key.is_empty() || arg.ends_with('/') {
        return Err(Failure::usage(format!(
            "{arg} names a directory; rcat needs the object's name (remote:path/file)"
        )));
    }
    if ctx.args.dry_run {
        fail::log(
            "NOTICE",
            &format!("{key}: Skipped copy as --dry-run is set"),
        );
        return Ok(());
    }
    // Remote::put aborts the write when its source fails: standard input
    // fails once the process is asked to stop, so nothing of an
    // interrupted stream is stored.
    let stopped = Arc::new(OnceLock::new());
    let stdin: Box<dyn AsyncRead + Unpin + Send> = match &ctx.bandwidth {
        Some(limit) => Box::new(limit.paced(tokio::io::stdin(), Flow::UPLOAD)),
        None => Box::new(tokio::io::stdin()),
    };
    let stdin = UntilStopped {
        inner: stdin,
        stop: Box::pin(interrupted()),
        stopped: stopped.clone(),
    };
    match remote.put(&key, stdin, WriteOptions::default()).await {
        Ok(_) => Ok(()),
        Err(e) => Err(match stopped.get() {
            Some(signal) => Failure::new(
                1,
                format!("{signal}: the upload was aborted, nothing was stored"),
            ),
            None => e.into(),
        }),
    }
}

/// A source that fails once `stop` resolves, recording why in `stopped`.
struct UntilStopped<R> {
    inner: R,
    stop: Pin<Box<dyn Future<Output = &'static str> + Send>>,
    stopped: Arc<OnceLock<&'static str>>,
}

impl<R: AsyncRead + Unpin> AsyncRead for UntilStopped<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.stopped.get().is_none() {
            if let Poll::Ready(signal) = self.stop.as_mut().poll(cx) {
                let _ = self.stopped.set(signal);
            }
        }
        if let Some(signal) = self.stopped.get() {
            let why = std::io::Error::new(std::io::ErrorKind::Interrupted, *signal);
            return Poll::Ready(Err(why));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM), naming
/// the signal.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = term.recv() => "terminated",
    }
}

/// `cat`: an object (or every object below a directory, one after the
/// other) to standard output; `--offset`/`--count`, `--head`, `--tail`
/// read only that part.
pub async fn cat(ctx: &Context<'_>, arg: &str) -> Result<(), Failure> {
    let (remote, key) = ctx.object(arg).await?;
    let args = ctx.args;
    let range = match (args.offset, args.count, args.head, args.tail) {
        (None, None, None, None) => None,
        (None, None, Some(head), None) => Some(ByteRange::Span(Span {
            offset: 0,
            length: head.max(0) as u64,
        })),
        (None, None, None, Some(tail)) => Some(ByteRange::Suffix(tail.max(0) as u64)),
        (offset, count, None, None) => match (offset.unwrap_or(0), count) {
            (o, None) if o < 0 => Some(ByteRange::Suffix(o.unsigned_abs())),
            (o, None) => Some(ByteRange::From(o as u64)),
            (o, Some(c)) if o >= 0 => Some(ByteRange::Span(Span {
                offset: o as u64,
                length: c.max(0) as u64,
            })),
            (_, Some(_)) => {
                return Err(Failure::usage(
                    "--offset from the end cannot be combined with --count in Wharf",
                ))
            }
        },
        _ => {
            return Err(Failure::usage(
                "give one of --head, --tail, or --offset with --count",
            ))
        }
    };
    let mut stdout: Box<dyn AsyncWrite + Unpin + Send> = match &ctx.bandwidth {
        Some(limit) => Box::new(limit.paced(tokio::io::stdout(), Flow::DOWNLOAD)),
        None => Box::new(tokio::io::stdout()),
    };
    let one = remote.stat(&key).await;
    let keys: Vec<String> = match one {
        Ok(_) => vec![key.clone()],
        Err(e) if *e.kind() == ErrorKind::NotFound => {
            let filter = crate::transfers::filter(args)?;
            let prefix = wharf_transfer::as_prefix(&key);
            let mut lister = remote.list(&prefix, None).await?;
            let mut any = false;
            loop {
                let page = lister.next_page().await?;
                if page.is_empty() {
                    break;
                }
                for entry in page {
                    let Entry::Object(meta) = entry else { continue };
                    let rel = &meta.key[prefix.len()..];
                    if filter.takes(rel, meta.size, meta.last_modified.as_ref()) {
                        any = true;
                        write_object(&remote, &meta.key, range, &mut stdout).await?;
                    }
                }
            }
            if !any && !remote.capabilities().key_and_prefix {
                return Err(Failure::new(DIR_NOT_FOUND, "directory not found"));
            }
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    for key in keys {
        write_object(&remote, &key, range, &mut stdout).await?;
    }
    Ok(())
}

async fn write_object(
    remote: &Arc<wharf::Remote>,
    key: &str,
    range: Option<ByteRange>,
    stdout: &mut (dyn AsyncWrite + Unpin + Send),
) -> Result<(), Failure> {
    match remote.get(key, range, &mut *stdout).await {
        Ok(_) => Ok(stdout.flush().await?),
        // The reader has all it wanted (`| head`).
        Err(e) if *e.kind() == ErrorKind::Io && e.message().contains("Broken pipe") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `deletefile`: one object; a directory or a missing object is an error.
pub async fn deletefile(ctx: &Context<'_>, arg: &str) -> Result<(), Failure> {
    let (remote, key) = ctx.object(arg).await?;
    match remote.stat(&key).await {
        Ok(_) => {}
        Err(e) if *e.kind() == ErrorKind::NotFound => {
            return Err(Failure::new(
                FILE_NOT_FOUND,
                format!("{arg} is a directory or doesn't exist: object not found"),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    if ctx.args.dry_run {
        fail::log(
            "NOTICE",
            &format!("{key}: Skipped delete as --dry-run is set"),
        );
        return Ok(());
    }
    remote.delete(&key).await?;
    verbose(ctx, &key, "Deleted");
    Ok(())
}

/// `delete` (the objects the filters take, below a directory; or one
/// object) and `purge` (everything below it, the directory too; filters do
/// not apply, as in rclone).
pub async fn delete(ctx: &Context<'_>, arg: &str, purge: bool) -> Result<(), Failure> {
    let (remote, key) = ctx.object(arg).await?;
    let args = ctx.args;
    let filter = Arc::new(crate::transfers::filter(args)?);
    if !purge && !key.is_empty() {
        if let Ok(meta) = remote.stat(&key).await {
            let name = key.rsplit('/').next().unwrap_or(&key);
            if filter.takes(name, meta.size, meta.last_modified.as_ref()) {
                if args.dry_run {
                    fail::log(
                        "NOTICE",
                        &format!("{key}: Skipped delete as --dry-run is set"),
                    );
                } else {
                    remote.delete(&key).await?;
                    verbose(ctx, &key, "Deleted");
                }
            }
            return Ok(());
        }
    }
    let mut options = DeleteOptions::default();
    options.transfers = args.checkers.or(args.transfers).unwrap_or(8);
    options.dry_run = args.dry_run;
    if !purge {
        options.filter = Some(filter);
    }
    let level = args.verbose;
    let said = move |event: &Event| match event {
        Event::WouldDelete { rel } => fail::log(
            "NOTICE",
            &format!("{rel}: Skipped delete as --dry-run is set"),
        ),
        Event::Deleted { rel } if level > 0 => fail::log("INFO", &format!("{rel}: Deleted")),
        _ => {}
    };
    match delete_prefix(&remote, &key, &options, Arc::new(said)).await {
        Ok(_) => {}
        Err(e) if *e.kind() == ErrorKind::NotFound => {
            if !remote.capabilities().key_and_prefix || purge {
                return Err(Failure::dir_not_found(e));
            }
        }
        Err(e) => return Err(e.into()),
    }
    if purge && !args.dry_run {
        if let Place::Local(path) = ctx.place(arg).await? {
            match std::fs::remove_dir_all(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
    }
    Ok(())
}

/// `mkdir`: a local directory is made; on a remote, directories exist
/// through the keys below them, so there is nothing to make.
pub async fn mkdir(ctx: &Context<'_>, arg: &str) -> Result<(), Failure> {
    match ctx.place(arg).await? {
        Place::Local(path) if !ctx.args.dry_run => std::fs::create_dir_all(&path)?,
        _ => {}
    }
    Ok(())
}

/// `rmdir`: refuses a directory with anything in it; removes an empty
/// local directory.
pub async fn rmdir(ctx: &Context<'_>, arg: &str) -> Result<(), Failure> {
    let (remote, key) = ctx.object(arg).await?;
    let mut lister = remote
        .list(&wharf_transfer::as_prefix(&key), Some("/"))
        .await?;
    if !lister.next_page().await?.is_empty() {
        return Err(Failure::new(
            1,
            format!("remove {arg}: directory not empty"),
        ));
    }
    if let Place::Local(path) = ctx.place(arg).await? {
        if ctx.args.dry_run {
            return Ok(());
        }
        std::fs::remove_dir(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                Failure::new(DIR_NOT_FOUND, format!("remove {arg}: directory not found"))
            }
            _ => Failure::new(1, format!("remove {arg}: {e}")),
        })?;
    }
    Ok(())
}

fn verbose(ctx: &Context<'_>, key: &str, what: &str) {
    if ctx.args.verbose > 0 {
        fail::log("INFO", &format!("{key}: {what}"));
    }
}
