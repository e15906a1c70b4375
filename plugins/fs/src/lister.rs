//! Lists files in ascending byte order of their keys, one directory read at
//! a time, so memory grows with the depth of the tree and the width of one
//! directory, never with the whole listing.

use std::fs;
use std::io;

use wharf_plugin::{Entry, Lister, Result, Timestamp};

use crate::core::{file_meta, modified, FsCore, STAGING_DIR, TEMP_PREFIX};
use crate::error::{parse_error, Op};

/// A listing in progress: a stack of open directories, deepest last.
pub struct FsLister {
    core: FsCore,
    prefix: String,
    delimiter: bool,
    stack: Vec<DirFrame>,
}

/// One directory being walked, its entries already in key order.
struct DirFrame {
    /// The key prefix of everything in this directory: `""` or `a/b/`.
    dir_key: String,
    entries: std::vec::IntoIter<DirEntry>,
}

struct DirEntry {
    name: String,
    is_dir: bool,
    /// A file's size and modification time, from the same stat that told
    /// it from a directory: each stat of a plugin is two opens, two stats
    /// and a close on the host (following links inside the sandbox), and
    /// a second one per file to fill the page cost `rm -R` of 2,000 files
    /// 4,000 of them. (Kept as these two fields, not the whole metadata,
    /// since a directory's entries are held while it is walked.)
    file: Option<(u64, Option<Timestamp>)>,
}

impl FsLister {
    pub fn new(core: &FsCore, prefix: &str, delimiter: bool) -> Result<Self> {
        // The prefix may end in the middle of a name ("photos/20"): walk the
        // directory before its last '/', keeping names that start with the rest.
        let (dir_key, name_start) = match prefix.rfind('/') {
            Some(i) => (&prefix[..=i], &prefix[i + 1..]),
            None => ("", prefix),
        };
        let mut lister = FsLister {
            core: core.clone(),
            prefix: prefix.to_owned(),
            delimiter,
            stack: Vec::new(),
        };
        if let Some(entries) = lister.read_dir(dir_key, name_start)? {
            lister.stack.push(DirFrame {
                dir_key: dir_key.to_owned(),
                entries: entries.into_iter(),
            });
        }
        Ok(lister)
    }

    /// Reads one directory's entries that start with `name_start`, sorted so
    /// that the walk yields keys in byte order: a directory sorts as its name
    /// followed by '/', which is where its keys fall among its siblings'.
    /// Returns `None` when the directory does not exist.
    fn read_dir(&self, dir_key: &str, name_start: &str) -> Result<Option<Vec<DirEntry>>> {
        let path = self.core.root().join(dir_key);
        let read = match fs::read_dir(&path) {
            Ok(read) => read,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(parse_error(Op::List, &self.prefix, e)),
        };
        let mut entries = Vec::new();
        for item in read {
            let item = match item {
                Ok(item) => item,
                // Removed while it was read: an aborted write pruning the
                // directory it made for its staging file, or a delete.
                // What is gone holds no keys.
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => return Err(parse_error(Op::List, &self.prefix, e)),
            };
            let Ok(name) = item.file_name().into_string() else {
                continue; // Not UTF-8, so it cannot be a key.
            };
            if !name.starts_with(name_start) || (dir_key.is_empty() && name == STAGING_DIR) {
                continue;
            }
            // A write in progress, or one that was stopped midway: never a
            // key; removed once it is old enough that no write can be
            // using it.
            if name.starts_with(TEMP_PREFIX) {
                if let Ok(metadata) = fs::symlink_metadata(item.path()) {
                    self.core.remove_if_stale(&item.path(), &metadata);
                }
                continue;
            }
            // Follow symbolic links that stay inside the root; the sandbox
            // refuses the ones that leave it, and those are left out, as are
            // sockets, devices and other things that are not files.
            let Ok(metadata) = fs::metadata(item.path()) else {
                continue;
            };
            if metadata.is_dir() || metadata.is_file() {
                let file = metadata
                    .is_file()
                    .then(|| (metadata.len(), modified(&metadata)));
                entries.push(DirEntry {
                    name,
                    is_dir: metadata.is_dir(),
                    file,
                });
            }
        }
        entries.sort_by(|a, b| sort_name(a).cmp(&sort_name(b)));
        Ok(Some(entries))
    }

    /// Whether any file lies below `dir_key`; an empty directory tree holds
    /// no keys, so it is not a common prefix.
    fn holds_objects(&self, dir_key: &str) -> Result<bool> {
        let mut pending = vec![dir_key.to_owned()];
        while let Some(dir) = pending.pop() {
            for entry in self.read_dir(&dir, "")?.unwrap_or_default() {
                if !entry.is_dir {
                    return Ok(true);
                }
                pending.push(format!("{dir}{}/", entry.name));
            }
        }
        Ok(false)
    }
}

fn sort_name(entry: &DirEntry) -> std::borrow::Cow<'_, str> {
    if entry.is_dir {
        format!("{}/", entry.name).into()
    } else {
        entry.name.as_str().into()
    }
}

impl Lister for FsLister {
    fn next(&mut self, max_entries: usize) -> Result<Vec<Entry>> {
        let mut page = Vec::new();
        while page.len() < max_entries {
            let Some(frame) = self.stack.last_mut() else {
                break;
            };
            let Some(entry) = frame.entries.next() else {
                self.stack.pop();
                continue;
            };
            let key = format!("{}{}", frame.dir_key, entry.name);
            if entry.is_dir {
                let dir_key = key + "/";
                if self.delimiter {
                    if self.holds_objects(&dir_key)? {
                        page.push(Entry::CommonPrefix(dir_key));
                    }
                } else if let Some(entries) = self.read_dir(&dir_key, "")? {
                    self.stack.push(DirFrame {
                        dir_key,
                        entries: entries.into_iter(),
                    });
                }
                continue;
            }
            let Some((size, last_modified)) = entry.file else {
                continue;
            };
            page.push(Entry::Object(file_meta(&key, size, last_modified)));
        }
        Ok(page)
    }
}
