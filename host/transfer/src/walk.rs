//! Both sides of a transfer as streams of objects in byte order of their
//! relative keys, a page or a directory at a time: a sync of 100,000
//! objects never holds 100,000 entries.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::filter::Filter;

use wharf::{Entry, Error, ErrorKind, ObjectLister, Remote, Result, Timestamp};

/// One object, relative to the root of its side.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The key below the root, `/`-separated.
    pub rel: String,
    pub size: u64,
    pub modified: Option<Timestamp>,
    /// The backend's tag (S3 ETag, Dropbox content hash), if any.
    pub etag: Option<String>,
}

/// A sorted stream of the objects under one root, unfiltered.
pub(crate) enum Source<'r> {
    Remote {
        lister: ObjectLister<'r>,
        prefix: String,
        page: VecDeque<Item>,
        done: bool,
    },
    Local {
        root: PathBuf,
        /// The unvisited entries of each directory on the current path:
        /// (relative path, is a directory).
        stack: Vec<VecDeque<(String, bool)>>,
        /// Whether symbolic links are followed.
        follow_links: bool,
        /// The links passed over, relative to the root.
        skipped_links: Vec<String>,
    },
}

/// A listing of a prefix already begun, and its first page: what was
/// read to learn that a key names a tree, kept for the walk that follows.
pub struct Listed {
    pub(crate) lister: ObjectLister<'static>,
    pub(crate) first: Vec<Entry>,
}

/// The objects among `entries` (listed under `prefix`) as items, in order.
fn push_objects(page: &mut VecDeque<Item>, entries: Vec<Entry>, prefix: &str) {
    for entry in entries {
        if let Entry::Object(meta) = entry {
            let rel = meta.key.strip_prefix(prefix).unwrap_or(&meta.key);
            page.push_back(Item {
                rel: rel.to_owned(),
                size: meta.size,
                modified: meta.last_modified,
                etag: meta.etag,
            });
        }
    }
}

/// A sorted stream of the objects under one root that a filter takes.
pub(crate) struct Walk<'r> {
    source: Source<'r>,
    filter: Option<Arc<Filter>>,
}

impl<'r> Walk<'r> {
    /// The objects of `source` that `filter` takes (all without one).
    pub fn new(source: Source<'r>, filter: Option<Arc<Filter>>) -> Self {
        Walk {
            source,
            filter: filter.filter(|f| !f.is_empty()),
        }
    }

    /// The symbolic links passed over so far, relative to the root.
    pub fn skipped_links(&self) -> &[String] {
        self.source.skipped_links()
    }

    /// The next object taken, or `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Item>> {
        loop {
            let Some(item) = self.source.next().await? else {
                return Ok(None);
            };
            match &self.filter {
                Some(filter) if !filter.takes(&item.rel, item.size, item.modified.as_ref()) => {}
                _ => return Ok(Some(item)),
            }
        }
    }
}

impl<'r> Source<'r> {
    /// Every object under `prefix` (ending in `/`, or empty) of `remote`.
    pub async fn remote(remote: &'r Remote, prefix: &str) -> Result<Source<'r>> {
        Ok(Source::Remote {
            lister: remote.list(prefix, None).await?,
            prefix: prefix.to_owned(),
            page: VecDeque::new(),
            done: false,
        })
    }

    /// Every object under `prefix`, from a listing of it already begun
    /// (`head`): its first page is the walk's.
    pub fn resumed(head: Listed, prefix: &str) -> Source<'r> {
        let done = head.first.is_empty();
        let mut page = VecDeque::new();
        push_objects(&mut page, head.first, prefix);
        Source::Remote {
            lister: head.lister,
            prefix: prefix.to_owned(),
            page,
            done,
        }
    }

    /// Every file under directory `root` (none if it does not exist). A
    /// symbolic link below it is passed over, as rclone does, unless
    /// `follow_links`: following one would copy what lies outside the tree
    /// the user named (a link a plugin made in a remote's folder among
    /// them).
    pub fn local(root: &Path, follow_links: bool) -> Result<Source<'static>> {
        let mut skipped_links = Vec::new();
        let first = if root.is_dir() {
            sorted_dir(root, "", follow_links, &mut skipped_links)?
        } else {
            VecDeque::new()
        };
        Ok(Source::Local {
            root: root.to_path_buf(),
            stack: vec![first],
            follow_links,
            skipped_links,
        })
    }

    /// The symbolic links passed over so far, relative to the root.
    pub fn skipped_links(&self) -> &[String] {
        match self {
            Source::Local { skipped_links, .. } => skipped_links,
            Source::Remote { .. } => &[],
        }
    }

    /// The next object, or `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Item>> {
        match self {
            Source::Remote {
                lister,
                prefix,
                page,
                done,
            } => loop {
                if let Some(item) = page.pop_front() {
                    return Ok(Some(item));
                }
                if *done {
                    return Ok(None);
                }
                let entries = lister.next_page().await?;
                if entries.is_empty() {
                    *done = true;
                }
                push_objects(page, entries, prefix);
            },
            Source::Local {
                root,
                stack,
                follow_links,
                skipped_links,
            } => loop {
                let Some(level) = stack.last_mut() else {
                    return Ok(None);
                };
                let Some((rel, is_dir)) = level.pop_front() else {
                    stack.pop();
                    continue;
                };
                let path = root.join(&rel);
                if is_dir {
                    let below = sorted_dir(&path, &rel, *follow_links, skipped_links)?;
                    stack.push(below);
                    continue;
                }
                let meta = std::fs::metadata(&path)
                    .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
                return Ok(Some(Item {
                    rel,
                    size: meta.len(),
                    modified: meta.modified().ok().map(timestamp),
                    etag: None,
                }));
            },
        }
    }
}

/// The entries of `dir` (whose relative path is `rel`), in the byte order
/// their keys will have: a directory sorts as its name plus `/`, which is
/// where everything below it falls.
fn sorted_dir(
    dir: &Path,
    rel: &str,
    follow_links: bool,
    skipped_links: &mut Vec<String>,
) -> Result<VecDeque<(String, bool)>> {
    let mut entries = Vec::new();
    let cannot_read = |e| Error::io(format!("cannot read directory {}", dir.display()), e);
    for entry in std::fs::read_dir(dir).map_err(cannot_read)? {
        let entry = entry.map_err(cannot_read)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                format!(
                    "{} is not valid UTF-8, so it cannot be a key; rename it",
                    entry.path().display()
                ),
            ));
        };
        let cannot = |e| Error::io(format!("cannot read {}", entry.path().display()), e);
        let mut kind = entry.file_type().map_err(cannot)?;
        if kind.is_symlink() {
            if !follow_links {
                skipped_links.push(if rel.is_empty() {
                    name.to_owned()
                } else {
                    format!("{rel}/{name}")
                });
                continue;
            }
            kind = std::fs::metadata(entry.path()).map_err(cannot)?.file_type();
        }
        // Other kinds (sockets, devices, pipes) are no objects.
        if !kind.is_dir() && !kind.is_file() {
            continue;
        }
        // A download in progress, never an object.
        if name.starts_with(".wharf-") && name.ends_with(".part") {
            continue;
        }
        let rel = if rel.is_empty() {
            name.to_owned()
        } else {
            format!("{rel}/{name}")
        };
        let sort = if kind.is_dir() {
            format!("{name}/")
        } else {
            name.to_owned()
        };
        entries.push((sort, rel, kind.is_dir()));
    }
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(entries
        .into_iter()
        .map(|(_, rel, dir)| (rel, dir))
        .collect())
}

pub(crate) fn timestamp(time: std::time::SystemTime) -> Timestamp {
    match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => Timestamp {
            seconds: d.as_secs() as i64,
            nanoseconds: d.subsec_nanos(),
        },
        Err(e) => Timestamp {
            seconds: -(e.duration().as_secs() as i64),
            nanoseconds: 0,
        },
    }
}
