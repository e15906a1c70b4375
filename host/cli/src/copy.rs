//! `cp`, `put` and `get`: moving objects between remotes and local files,
//! a chunk at a time, never holding a whole object.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use tokio::io::AsyncWriteExt;
use wharf::{Remote, WriteOptions};

use crate::app::App;
use crate::location::Location;
use crate::progress::Progress;

/// What a copy did, for the summary line.
#[derive(Debug, Default)]
pub struct Summary {
    pub objects: u64,
    pub bytes: u64,
}

/// Copies `src` to `dst`; with `recursive`, everything under `src`.
pub async fn copy(app: &App, src: &Location, dst: &Location, recursive: bool) -> Result<Summary> {
    let src_remote = open(app, src).await?;
    let dst_remote = match (src, dst) {
        (Location::Remote { remote: a, .. }, Location::Remote { remote: b, .. }) if a == b => None,
        _ => open(app, dst).await?,
    };
    let ends = Ends {
        src: src_remote.as_ref(),
        dst: dst_remote.as_ref().or(match (src, dst) {
            (Location::Remote { .. }, Location::Remote { .. }) => src_remote.as_ref(),
            _ => None,
        }),
    };
    if recursive && is_tree(&ends, src).await? {
        return copy_tree(&ends, src, dst).await;
    }
    let dst = destination_for(src, dst)?;
    let progress = Progress::bytes(source_size(&ends, src).await.ok(), &src.to_string());
    let bytes = copy_one(&ends, src, &dst, &progress).await?;
    progress.finish();
    Ok(Summary { objects: 1, bytes })
}

/// The remotes of both sides (`None` for a local side).
struct Ends<'a> {
    src: Option<&'a Remote>,
    dst: Option<&'a Remote>,
}

async fn open(app: &App, location: &Location) -> Result<Option<Remote>> {
    match location {
        Location::Local(_) => Ok(None),
        Location::Remote { remote, .. } => Ok(Some(app.remote(remote).await?)),
    }
}

/// Whether `src` names a tree (a local directory, or a remote prefix that
/// is not itself an object).
async fn is_tree(ends: &Ends<'_>, src: &Location) -> Result<bool> {
    match src {
        Location::Local(path) => Ok(path.is_dir()),
        Location::Remote { key, .. } => {
            if key.is_empty() || key.ends_with('/') {
                return Ok(true);
            }
            // Listing, not a HEAD of the key: some servers answer a HEAD
            // of a "directory" with an error rather than not-found.
            let mut below = ends.src.unwrap().list(&as_prefix(key), None).await?;
            Ok(!below.next_page().await?.is_empty())
        }
    }
}

/// A destination that is a directory or prefix (ends with `/`, is the
/// whole remote, or is an existing local directory) receives the source
/// under its own name.
pub fn destination_for(src: &Location, dst: &Location) -> Result<Location> {
    let into = match dst {
        Location::Local(path) => path.is_dir() || path.to_string_lossy().ends_with('/'),
        Location::Remote { key, .. } => key.is_empty() || key.ends_with('/'),
    };
    if !into {
        return Ok(dst.clone());
    }
    let Some(name) = src.base_name() else {
        bail!("cannot tell what to name the copy of {src} in {dst}; give the destination a name");
    };
    Ok(match dst {
        Location::Local(path) => Location::Local(path.join(name)),
        Location::Remote { remote, key } => Location::Remote {
            remote: remote.clone(),
            key: format!("{key}{name}"),
        },
    })
}

async fn source_size(ends: &Ends<'_>, src: &Location) -> Result<u64> {
    Ok(match src {
        Location::Local(path) => tokio::fs::metadata(path).await?.len(),
        Location::Remote { key, .. } => ends.src.unwrap().stat(key).await?.size,
    })
}

/// Copies one object or file; returns the bytes copied.
async fn copy_one(
    ends: &Ends<'_>,
    src: &Location,
    dst: &Location,
    progress: &Progress,
) -> Result<u64> {
    match (src, dst) {
        (Location::Local(from), Location::Remote { key, .. }) => {
            upload(from, ends.dst.unwrap(), key, progress).await
        }
        (Location::Remote { key, .. }, Location::Local(to)) => {
            download(ends.src.unwrap(), key, to, progress).await
        }
        (Location::Remote { key: from, .. }, Location::Remote { key: to, .. }) => {
            let (source, target) = (ends.src.unwrap(), ends.dst.unwrap());
            if std::ptr::eq(source, target) && source.plugin().info().capabilities.copy {
                let meta = source.copy(from, to).await?;
                progress.add_bytes(meta.size);
                return Ok(meta.size);
            }
            stream_between(source, from, target, to, progress).await
        }
        (Location::Local(from), Location::Local(to)) => copy_local(from, to, progress).await,
    }
}

async fn upload(from: &Path, remote: &Remote, key: &str, progress: &Progress) -> Result<u64> {
    let file = tokio::fs::File::open(from)
        .await
        .with_context(|| format!("cannot open {}", from.display()))?;
    let size = file.metadata().await.ok().map(|m| m.len());
    let options = WriteOptions {
        content_type: mime_guess::from_path(from).first().map(|m| m.to_string()),
        metadata: Vec::new(),
        size_hint: size,
    };
    let meta = remote
        .put(
            key,
            ProgressRead {
                inner: file,
                progress,
            },
            options,
        )
        .await?;
    Ok(meta.size)
}

/// Counts bytes as they are read.
struct ProgressRead<'p, R> {
    inner: R,
    progress: &'p Progress,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for ProgressRead<'_, R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        self.progress
            .add_bytes((buf.filled().len() - before) as u64);
        poll
    }
}

/// Writes into a temporary file beside `to` and renames it into place, so
/// a failed download never leaves a partial file under the real name.
async fn download(remote: &Remote, key: &str, to: &Path, progress: &Progress) -> Result<u64> {
    let dir = parent_dir(to);
    tokio::fs::create_dir_all(&dir)
        .await
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    let temp = tempfile::Builder::new()
        .prefix(".wharf-")
        .suffix(".part")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let mut file = tokio::fs::File::from_std(temp.reopen()?);
    let mut reader = remote.open_read(key, None).await?;
    let mut total = 0;
    loop {
        let chunk = reader.read().await?;
        if chunk.is_empty() {
            break;
        }
        file.write_all(&chunk)
            .await
            .with_context(|| format!("cannot write {}", to.display()))?;
        total += chunk.len() as u64;
        progress.add_bytes(chunk.len() as u64);
    }
    reader.close().await;
    file.flush().await?;
    drop(file);
    temp.persist(to)
        .with_context(|| format!("cannot move the download into place at {}", to.display()))?;
    Ok(total)
}

async fn stream_between(
    source: &Remote,
    from: &str,
    target: &Remote,
    to: &str,
    progress: &Progress,
) -> Result<u64> {
    let size = source.stat(from).await?.size;
    let mut reader = source.open_read(from, None).await?;
    let mut writer = target
        .open_write(
            to,
            WriteOptions {
                size_hint: Some(size),
                ..WriteOptions::default()
            },
        )
        .await?;
    let mut total = 0;
    loop {
        let chunk = match reader.read().await {
            Ok(chunk) => chunk,
            Err(e) => {
                let _ = writer.abort().await;
                return Err(e.into());
            }
        };
        if chunk.is_empty() {
            break;
        }
        if let Err(e) = writer.write(&chunk).await {
            let _ = writer.abort().await;
            return Err(e.into());
        }
        total += chunk.len() as u64;
        progress.add_bytes(chunk.len() as u64);
    }
    reader.close().await;
    writer.finish().await?;
    Ok(total)
}

async fn copy_local(from: &Path, to: &Path, progress: &Progress) -> Result<u64> {
    let dir = parent_dir(to);
    std::fs::create_dir_all(&dir)?;
    let temp = tempfile::Builder::new()
        .prefix(".wharf-")
        .suffix(".part")
        .tempfile_in(&dir)?;
    let bytes = std::fs::copy(from, temp.path())
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    temp.persist(to)?;
    progress.add_bytes(bytes);
    Ok(bytes)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Copies everything under `src` to the same relative places under `dst`.
async fn copy_tree(ends: &Ends<'_>, src: &Location, dst: &Location) -> Result<Summary> {
    let progress = Progress::objects();
    let quiet = Progress::bytes(Some(0), "");
    let mut summary = Summary::default();
    let dst_base = match dst {
        Location::Local(path) => Location::Local(path.clone()),
        Location::Remote { remote, key } => Location::Remote {
            remote: remote.clone(),
            key: as_prefix(key),
        },
    };
    let join = |rel: &str| match &dst_base {
        Location::Local(path) => Location::Local(path.join(rel)),
        Location::Remote { remote, key } => Location::Remote {
            remote: remote.clone(),
            key: format!("{key}{rel}"),
        },
    };
    match src {
        Location::Remote { remote, key } => {
            let prefix = as_prefix(key);
            let source = ends.src.unwrap();
            let mut lister = source.list(&prefix, None).await?;
            loop {
                let page = lister.next_page().await?;
                if page.is_empty() {
                    break;
                }
                for entry in page {
                    let wharf::Entry::Object(meta) = entry else {
                        continue;
                    };
                    let rel = &meta.key[prefix.len()..];
                    let from = Location::Remote {
                        remote: remote.clone(),
                        key: meta.key.clone(),
                    };
                    summary.bytes += copy_one(ends, &from, &join(rel), &quiet).await?;
                    summary.objects += 1;
                    progress.add_object(summary.bytes);
                }
            }
        }
        Location::Local(root) => {
            let mut pending = vec![root.clone()];
            while let Some(dir) = pending.pop() {
                let mut entries: Vec<_> = std::fs::read_dir(&dir)
                    .with_context(|| format!("cannot read directory {}", dir.display()))?
                    .collect::<std::io::Result<_>>()?;
                entries.sort_by_key(|e| e.file_name());
                for entry in entries.into_iter().rev() {
                    let path = entry.path();
                    let kind = entry.file_type()?;
                    if kind.is_dir() {
                        pending.push(path);
                    } else if path.is_file() {
                        let rel = path.strip_prefix(root).unwrap();
                        let rel = rel.to_str().with_context(|| {
                            format!(
                                "{} is not valid UTF-8, so it cannot be a key",
                                path.display()
                            )
                        })?;
                        summary.bytes +=
                            copy_one(ends, &Location::Local(path.clone()), &join(rel), &quiet)
                                .await?;
                        summary.objects += 1;
                        progress.add_object(summary.bytes);
                    }
                }
            }
        }
    }
    progress.finish();
    quiet.finish();
    Ok(summary)
}

/// `a/b` as the prefix `a/b/`; the empty key stays the whole remote.
pub fn as_prefix(key: &str) -> String {
    if key.is_empty() || key.ends_with('/') {
        key.to_owned()
    } else {
        format!("{key}/")
    }
}
