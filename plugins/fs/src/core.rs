//! The file system calls behind every operation.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fs::{self, File, Metadata};
use std::hash::BuildHasher;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasip2::filesystem::preopens::get_directories;
use wasip2::filesystem::types::{
    Descriptor, DescriptorFlags, DescriptorStat, ErrorCode, OpenFlags, PathFlags,
};
use wharf_plugin::{read_chunk, Error, ObjectMeta, Result, Timestamp};

use crate::config::check_key;
use crate::error::{io_error, not_an_object, parse_error, Op};
use crate::FsConfig;

/// How the name of a write in progress starts: `.wharf-tmp-<random>.part`,
/// in the directory of the key it is for, so that `finish` is a rename
/// within one directory. (A rename from one directory into another takes
/// the file system's rename lock and both directories' locks, and every
/// writer staging in one shared directory made them all wait on each
/// other.) Such names are hidden from listings, and no key may use them,
/// as in the FTP plugin.
pub const TEMP_PREFIX: &str = ".wharf-tmp-";

/// Where earlier versions staged writes (`<root>/.wharf-tmp/`): still
/// reserved and hidden, and its stale files still removed, so an upgrade
/// leaves nothing behind.
pub const STAGING_DIR: &str = ".wharf-tmp";

/// A staging file untouched for this long belongs to a write that will
/// never finish. A live writer writes its file at every chunk, which
/// renews its modification time, so only a writer whose instance was
/// stopped mid-write (a trap, the call time limit, a killed process) leaves
/// one this old: nothing in the plugin is left to remove it, so a listing
/// that comes across it does (and the first write of a store empties the
/// old staging directory). An hour is far beyond any pause between two
/// chunks of a live write and short enough that leftovers do not pile up.
pub const STALE_STAGING_AGE: Duration = Duration::from_secs(60 * 60);

/// The file a write in progress goes to, until [`FsCore::commit`] puts it
/// at its key.
pub enum Staged {
    /// A file with no name (`wharf:storage/staging`), named at its key in
    /// one step: nothing is ever listed, nothing is left if the write
    /// stops, and the file system allocates it without holding the
    /// directory's lock, so writers into one directory do not wait on each
    /// other meanwhile.
    Unnamed,
    /// A staging file beside the key (see [`TEMP_PREFIX`]), renamed into
    /// place: where the host has no unnamed files.
    Named(PathBuf),
}

/// The root directory and the operations on paths below it.
#[derive(Clone)]
pub struct FsCore {
    root: PathBuf,
    /// The preopened root, for the calls that std does slowly: std writes
    /// files through WASI streams 4 KiB at a time, a descriptor's `write`
    /// takes a whole chunk.
    dir: Rc<Descriptor>,
    /// Whether this store has already removed stale staging files; once
    /// per store is enough, and reads never touch the directory.
    swept: Rc<Cell<bool>>,
    /// Whether the host has no unnamed files (found at the first write).
    named_only: Rc<Cell<bool>>,
}

impl FsCore {
    pub fn new(config: FsConfig) -> Result<Self> {
        let dir = get_directories()
            .into_iter()
            .find(|(_, path)| *path == config.root)
            .map(|(dir, _)| dir)
            .ok_or_else(|| {
                Error::invalid_config(format!(
                    "the host did not grant the directory {:?}; the fs plugin needs the \
                     directory named by option 'root' preopened",
                    config.root
                ))
            })?;
        Ok(FsCore {
            root: PathBuf::from(config.root),
            dir: Rc::new(dir),
            swept: Rc::new(Cell::new(false)),
            named_only: Rc::new(Cell::new(false)),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The preopened root's descriptor.
    pub fn dir(&self) -> &Descriptor {
        &self.dir
    }

    /// The file that holds `key`. Keys are already checked against the key
    /// rules, so joining cannot climb out; the sandbox would refuse it anyway.
    pub fn path(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    pub fn stat(&self, key: &str) -> Result<ObjectMeta> {
        let path = self.path(key)?;
        let metadata = fs::metadata(&path).map_err(|e| parse_error(Op::Stat, key, e))?;
        if !metadata.is_file() {
            return Err(not_an_object(key));
        }
        Ok(object_meta(key, &metadata))
    }

    pub fn delete(&self, key: &str) -> Result<()> {
        if self.unlink(key)? {
            self.prune_empty_parents(key);
        }
        Ok(())
    }

    /// Deletes every key, then prunes each directory they leave empty
    /// once, deepest first. (Pruning after each file would try to remove
    /// the directory once per file, and on ext4 each try reads the
    /// directory up to its first live entry, past every entry already
    /// deleted: quadratic in the size of the directory.)
    pub fn delete_many(&self, keys: &[&str]) -> Vec<Result<()>> {
        let mut parents = std::collections::BTreeSet::new();
        // Keys come in listing order, so the directory of one is most often
        // the next one's too.
        let mut last_dir = None;
        let results = keys
            .iter()
            .map(|key| {
                if self.unlink_in_dir(key, &mut last_dir)? {
                    if let Some(parent) = wharf_plugin::key::split_parent(key).0 {
                        parents.insert(parent);
                    }
                }
                Ok(())
            })
            .collect();
        // Longest first: a directory's children before it.
        let mut parents: Vec<&str> = parents.into_iter().collect();
        parents.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for parent in parents {
            if fs::remove_dir(self.root.join(parent)).is_ok() {
                self.prune_empty_parents(parent);
            }
        }
        results
    }

    /// [`FsCore::unlink`] through the descriptor of the key's directory,
    /// kept in `last_dir` for the next key: the host then removes the name
    /// in one call, where a path from the root costs it an open of the
    /// directory and a close besides (`rm -R` of 2,000 files: 2,002 opens
    /// and 2,019 closes, `strace -c -f`). Whatever this way cannot settle
    /// (a directory at the key, a refusal) goes the path's way, which
    /// tells and names it.
    fn unlink_in_dir(
        &self,
        key: &str,
        last_dir: &mut Option<(String, Descriptor)>,
    ) -> Result<bool> {
        check_key(key)?;
        let (dir_key, name) = match wharf_plugin::key::split_parent(key) {
            (Some(dir_key), name) => (dir_key, name),
            (None, name) => ("", name),
        };
        if last_dir.as_ref().is_none_or(|(open, _)| open != dir_key) {
            *last_dir = None;
            if !dir_key.is_empty() {
                match self.dir.open_at(
                    PathFlags::SYMLINK_FOLLOW,
                    dir_key,
                    OpenFlags::DIRECTORY,
                    DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY,
                ) {
                    Ok(dir) => *last_dir = Some((dir_key.to_owned(), dir)),
                    Err(ErrorCode::NoEntry | ErrorCode::NotDirectory) => return Ok(false),
                    Err(_) => return self.unlink(key),
                }
            }
        }
        let dir = last_dir.as_ref().map_or(&*self.dir, |(_, dir)| dir);
        match dir.unlink_file_at(name) {
            Ok(()) => Ok(true),
            Err(ErrorCode::NoEntry) => Ok(false),
            Err(_) => self.unlink(key),
        }
    }

    /// Removes the file at `key`; whether there was one. One call where
    /// it can be, not a stat and then an unlink: each file-system call of
    /// a plugin is a hand-off to the host's I/O threads, and `rm -R` makes
    /// one per object.
    fn unlink(&self, key: &str) -> Result<bool> {
        let path = self.path(key)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            // A directory is only a prefix of other keys, not an object, so
            // there is nothing at `key` to delete. (POSIX also lets unlink
            // refuse a directory with EPERM: then a stat tells.)
            Err(e) if e.kind() == io::ErrorKind::IsADirectory => Ok(false),
            Err(_) if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) => Ok(false),
            Err(e) => Err(parse_error(Op::Delete, key, e)),
        }
    }

    /// Removes the staging file of a write to `key` that will not finish,
    /// and the directories it leaves empty (a write into a new directory
    /// made them for its staging file).
    pub fn discard(&self, staged: &Staged, key: &str) -> io::Result<()> {
        let removed = match staged {
            // Closing it was the end of it.
            Staged::Unnamed => Ok(()),
            Staged::Named(path) => match fs::remove_file(path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                other => other,
            },
        };
        self.prune_empty_parents(key);
        removed
    }

    /// Removes the directories that deleting `key` left empty, up to (not
    /// including) the root, so deleted trees do not linger as empty
    /// directories. A directory that is not empty stops the walk.
    fn prune_empty_parents(&self, key: &str) {
        let mut parent = wharf_plugin::key::split_parent(key).0;
        while let Some(dir) = parent {
            if fs::remove_dir(self.root.join(dir)).is_err() {
                break;
            }
            parent = wharf_plugin::key::split_parent(dir).0;
        }
    }

    pub fn copy(&self, source: &str, destination: &str) -> Result<ObjectMeta> {
        let from = self.path(source)?;
        self.path(destination)?;
        let metadata = fs::metadata(&from).map_err(|e| parse_error(Op::Copy, source, e))?;
        if !metadata.is_file() {
            return Err(not_an_object(source));
        }
        let (staged, target) = self.stage(destination)?;
        let copied = File::open(&from).and_then(|mut file| {
            let mut offset = 0;
            loop {
                let chunk = read_chunk(&mut file, 1 << 20)?;
                if chunk.is_empty() {
                    return Ok(());
                }
                write_all_at(&target, &chunk, offset)?;
                offset += chunk.len() as u64;
            }
        });
        if let Err(e) = copied {
            drop(target);
            let _ = self.discard(&staged, destination);
            return Err(parse_error(Op::Copy, source, e));
        }
        self.commit(staged, target, destination, false)
    }

    /// Creates a new, empty staging file for a write to `key`: an unnamed
    /// one in its directory where the host offers them, else a named one
    /// beside it (see [`TEMP_PREFIX`]); its directory is made if need be.
    /// The first one of this store first empties the old staging
    /// directory.
    pub fn stage(&self, key: &str) -> Result<(Staged, Descriptor)> {
        if !self.swept.replace(true) {
            self.remove_stale_staging_files();
        }
        let parent = wharf_plugin::key::split_parent(key).0;
        let dir = parent.map(|p| format!("{p}/")).unwrap_or_default();
        let mut made = 0;
        loop {
            let opened = if self.named_only.get() {
                Err(ErrorCode::Unsupported)
            } else {
                wharf_plugin::staging::create_unnamed(&self.dir, parent.unwrap_or("."))
                    .map(|file| (Staged::Unnamed, file))
            };
            let opened = match opened {
                Err(ErrorCode::Unsupported) => {
                    self.named_only.set(true);
                    // RandomState draws from the WASI random source: no
                    // extra crate.
                    let name = format!(
                        "{dir}{TEMP_PREFIX}{:016x}.part",
                        RandomState::new().hash_one(key)
                    );
                    self.dir
                        .open_at(
                            PathFlags::empty(),
                            &name,
                            OpenFlags::CREATE | OpenFlags::EXCLUSIVE,
                            DescriptorFlags::WRITE,
                        )
                        .map(|file| (Staged::Named(self.root.join(name)), file))
                }
                other => other,
            };
            match opened {
                Ok(staged) => return Ok(staged),
                Err(ErrorCode::Exist) => continue,
                // Most writes go into a directory that is there already:
                // it is made only when it is not. A delete elsewhere prunes
                // directories it empties, so one made here may be gone
                // again before the open: make it again, a bounded number
                // of times. (Once a named staging file is in it, no prune
                // can remove it; an unnamed one's directory is made again
                // at the commit if need be.)
                Err(ErrorCode::NoEntry | ErrorCode::NotDirectory) if made < 8 => {
                    made += 1;
                    let path = self.root.join(parent.unwrap_or(""));
                    match fs::create_dir_all(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(parent_error(key, &path, e)),
                    }
                }
                Err(code) => return Err(parse_error(Op::Write, key, io_error(code))),
            }
        }
    }

    /// Removes `path`, the staging file of some write, if it is older than
    /// [`STALE_STAGING_AGE`]: a listing that comes across one calls this.
    /// A failure only leaves the file for a later listing; it is not
    /// reported, since it must not fail the listing.
    pub fn remove_if_stale(&self, path: &Path, metadata: &Metadata) {
        let now = SystemTime::now();
        let stale = metadata.modified().is_ok_and(|modified| {
            // A time in the future (a clock set back) is not stale.
            now.duration_since(modified)
                .is_ok_and(|age| age > STALE_STAGING_AGE)
        });
        if stale && metadata.is_file() {
            let _ = fs::remove_file(path);
        }
    }

    /// Removes the files older than [`STALE_STAGING_AGE`] from the staging
    /// directory of earlier versions, and the directory once it is empty.
    /// A failure only leaves a file for a later sweep, so it is not
    /// reported: it must not fail the write that triggered the sweep.
    fn remove_stale_staging_files(&self) {
        let staging = self.root.join(STAGING_DIR);
        let Ok(entries) = fs::read_dir(&staging) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|ext| ext != "part") {
                continue;
            }
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| {
                    // A time in the future (a clock set back) is not stale.
                    now.duration_since(modified)
                        .is_ok_and(|age| age > STALE_STAGING_AGE)
                });
            if stale {
                let _ = fs::remove_file(&path);
            }
        }
        // Only if nothing is left in it: a write of an earlier version may
        // still be running.
        let _ = fs::remove_dir(&staging);
    }

    /// One try at [`FsCore::commit`]'s naming of the staged file.
    fn place(
        &self,
        staged: &Staged,
        file: Option<&Descriptor>,
        path: &Path,
        key: &str,
        only_new: bool,
    ) -> std::result::Result<(), Retry> {
        // A rename (or an unnamed file published with `replace`) replaces
        // what is there; a link (or a publish without) fails if anything
        // is, in the same step (a staged name then goes).
        let link_or_rename = || match (staged, file) {
            (Staged::Unnamed, Some(file)) => {
                wharf_plugin::staging::publish_unnamed(file, &self.dir, key, !only_new)
                    .map_err(io_error)
            }
            (Staged::Unnamed, None) => Err(io::Error::other("the unnamed file was closed")),
            (Staged::Named(staged), _) if only_new => fs::hard_link(staged, path),
            (Staged::Named(staged), _) => fs::rename(staged, path),
        };
        // Most writes go into a directory that is there already: try that
        // first, and make the parents only when it is not.
        let mut placed = link_or_rename();
        let missing_parent = matches!(&placed, Err(e) if matches!(
            e.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
        ));
        if let (true, Some(parent)) = (missing_parent, path.parent()) {
            fs::create_dir_all(parent).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => Retry::ParentGone,
                _ => Retry::Failed(parent_error(key, parent, e)),
            })?;
            placed = link_or_rename();
        }
        let staged_is_there = || match staged {
            Staged::Unnamed => true,
            Staged::Named(staged) => staged.exists(),
        };
        match placed {
            Err(e) if e.kind() == io::ErrorKind::NotFound && staged_is_there() => {
                Err(Retry::ParentGone)
            }
            Err(e) if only_new && e.kind() == io::ErrorKind::AlreadyExists => {
                Err(Retry::Failed(wharf_plugin::Error::already_exists(format!(
                    "cannot create {key:?}: an object (or a prefix of other keys) is already \
                     there, and this write was only to create one"
                ))))
            }
            Err(e) => Err(Retry::Failed(parse_error(Op::Write, key, e))),
            Ok(()) => {
                if let (true, Staged::Named(staged)) = (only_new, staged) {
                    let _ = fs::remove_file(staged);
                }
                Ok(())
            }
        }
    }

    /// Puts the staged file `file` at `key` in one step (a rename, or the
    /// naming of an unnamed file), creating the parent directories, and
    /// removes the staged file if that fails.
    pub fn commit(
        &self,
        staged: Staged,
        file: Descriptor,
        key: &str,
        only_new: bool,
    ) -> Result<ObjectMeta> {
        let path = self.path(key)?;
        // The written file's own descriptor says what was stored: no need
        // to look the path up again afterwards.
        let written = file.stat().ok();
        // A named file is closed before the rename (which some systems
        // refuse on an open file); an unnamed one is named through its
        // descriptor, so stays open until then.
        let file = match staged {
            Staged::Unnamed => Some(file),
            Staged::Named(_) => {
                drop(file);
                None
            }
        };
        // A delete elsewhere prunes directories it leaves empty, so a
        // parent made here may be gone again before the rename: make it
        // again (a bounded number of times; each loss needs another
        // writer's delete to land in that window).
        let mut attempts = 0;
        let result =
            loop {
                attempts += 1;
                match self.place(&staged, file.as_ref(), &path, key, only_new) {
                    Err(Retry::ParentGone) if attempts < 8 => continue,
                    Err(Retry::ParentGone) => break Err(parse_error(
                        Op::Write,
                        key,
                        io::Error::new(
                            io::ErrorKind::NotFound,
                            "its directory kept being removed by deletes running at the same time",
                        ),
                    )),
                    Err(Retry::Failed(error)) => break Err(error),
                    Ok(()) => break Ok(()),
                }
            };
        drop(file);
        if let Err(error) = result {
            let _ = self.discard(&staged, key);
            return Err(error);
        }
        if let Some(stat) = written {
            return Ok(stat_meta(key, &stat));
        }
        let metadata = fs::metadata(&path).map_err(|e| parse_error(Op::Write, key, e))?;
        Ok(object_meta(key, &metadata))
    }
}

/// Why the directory `parent` of `key` could not be made.
fn parent_error(key: &str, parent: &Path, e: io::Error) -> Error {
    match e.kind() {
        // A symbolic link that leaves the root exists but cannot be
        // followed: the sandbox's refusal, not a conflict.
        io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory
            if fs::metadata(parent).is_err_and(|m| m.kind() == io::ErrorKind::PermissionDenied) =>
        {
            parse_error(Op::Write, key, io::ErrorKind::PermissionDenied.into())
        }
        io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory => {
            Error::already_exists(format!(
                "cannot write {key:?}: part of its path is already an object, and on a file \
                 system an object cannot also hold other keys; delete that object or choose \
                 another key"
            ))
        }
        _ => parse_error(Op::Write, key, e),
    }
}

/// Writes all of `chunk` at `offset`, however many calls that takes.
pub fn write_all_at(file: &Descriptor, chunk: &[u8], mut offset: u64) -> io::Result<()> {
    let mut rest = chunk;
    while !rest.is_empty() {
        let written = file.write(rest, offset).map_err(io_error)?;
        if written == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the file took no bytes",
            ));
        }
        rest = &rest[written as usize..];
        offset += written;
    }
    Ok(())
}

pub fn object_meta(key: &str, metadata: &Metadata) -> ObjectMeta {
    file_meta(key, metadata.len(), modified(metadata))
}

/// A file's modification time, as the contract gives it.
pub fn modified(metadata: &Metadata) -> Option<Timestamp> {
    metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map(|since| Timestamp {
            seconds: since.as_secs() as i64,
            nanoseconds: since.subsec_nanos(),
        })
}

/// The object at `key`: a file of `size` bytes modified at `last_modified`.
pub fn file_meta(key: &str, size: u64, last_modified: Option<Timestamp>) -> ObjectMeta {
    ObjectMeta {
        key: key.to_owned(),
        size,
        last_modified,
        etag: None,
        content_type: None,
        metadata: Vec::new(),
    }
}

/// What the descriptor of a file just written says of it, as
/// [`object_meta`] says it from a path's metadata.
fn stat_meta(key: &str, stat: &DescriptorStat) -> ObjectMeta {
    let last_modified = stat.data_modification_timestamp.map(|t| Timestamp {
        seconds: t.seconds as i64,
        nanoseconds: t.nanoseconds,
    });
    file_meta(key, stat.size, last_modified)
}

/// Why one try at placing a staged file failed.
enum Retry {
    /// A directory on its path was removed by a concurrent delete.
    ParentGone,
    /// Anything else: the write fails.
    Failed(Error),
}
