//! The on-disk cache of precompiled components. Compiling a component takes
//! tens to hundreds of milliseconds; loading a precompiled one takes well
//! under one, so every run after the first starts fast.
//!
//! A precompiled component is native code, run as it is: an entry someone
//! else planted would run with the rights of the plugin whose name it took
//! (and past the sha256 pin of `plugins install`). So the cache directory
//! must be the user's own and writable by no one else, and every entry is
//! authenticated before it is used: it starts with an HMAC-SHA256, under a
//! key kept owner-only in the directory, of the entry's name and bytes. An
//! entry that does not check out is compiled again, with a warning, and
//! never run.

use std::fs::OpenOptions;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::{Error, ErrorKind, Result};

/// The bytes of an entry's authentication tag, before the component.
const TAG_BYTES: usize = 32;

/// A directory of precompiled components, keyed by the component's sha256
/// and by everything in the engine that makes compiled code incompatible.
#[derive(Clone)]
pub(crate) struct CompileCache {
    dir: PathBuf,
    key: [u8; 32],
}

/// What looking an entry up found.
pub(crate) enum Lookup {
    /// A component that checked out.
    Hit(Component),
    /// No entry.
    Miss,
    /// An entry that did not check out, and why: it is compiled again.
    Refused(String),
}

impl CompileCache {
    /// The cache in `dir` (made owner-only if it does not exist), with its
    /// key (made on first use). Refuses a directory that is not the user's
    /// own or that others may write to.
    pub fn open(dir: PathBuf) -> Result<Self> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| {
                Error::io(
                    format!("cannot create the compile cache {}", dir.display()),
                    e,
                )
            })?;
        check_private(&dir)?;
        let key = key(&dir)?;
        Ok(CompileCache { dir, key })
    }

    fn entry(&self, engine: &Engine, sha256: &str) -> (PathBuf, String) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        // `.tagged`: entries of the format before tags are not even looked at.
        let name = format!("{sha256}-{:016x}.tagged.cwasm", hasher.finish());
        (self.dir.join(&name), name)
    }

    fn tag(&self, name: &str, bytes: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac.update(bytes);
        mac
    }

    /// The cached compilation of the component with this hash.
    pub fn load(&self, engine: &Engine, sha256: &str) -> Lookup {
        let (path, name) = self.entry(engine, sha256);
        // Read once, check, then use those same bytes: the file cannot be
        // swapped between the check and the use.
        let bytes = match read_no_follow(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => return Lookup::Refused(format!("cannot read {}: {e}", path.display())),
        };
        let refused = |why: &str| {
            Lookup::Refused(format!(
                "the compile cache entry {} {why}; it was not run, and the plugin was compiled \
                 again",
                path.display()
            ))
        };
        if bytes.len() < TAG_BYTES {
            return refused("is too short to be one of Wharf's");
        }
        let (tag, compiled) = bytes.split_at(TAG_BYTES);
        if self.tag(&name, compiled).verify_slice(tag).is_err() {
            return refused("was not written by Wharf for this user (its tag does not check out)");
        }
        // SAFETY: the bytes were written by `store` below from wasmtime's
        // own compiler for this entry's name (the tag, under a key only
        // this user can read, proves it), and the name binds them to this
        // engine's configuration.
        match unsafe { Component::deserialize(engine, compiled) } {
            Ok(component) => Lookup::Hit(component),
            Err(e) => refused(&format!("cannot be loaded ({e})")),
        }
    }

    /// Saves a compiled component; a failure only costs a recompile later,
    /// so it is not reported.
    pub fn store(&self, engine: &Engine, sha256: &str, component: &Component) {
        let (path, name) = self.entry(engine, sha256);
        let Ok(compiled) = component.serialize() else {
            return;
        };
        let tag = self.tag(&name, &compiled).finalize().into_bytes();
        let mut bytes = Vec::with_capacity(TAG_BYTES + compiled.len());
        bytes.extend_from_slice(&tag);
        bytes.extend_from_slice(&compiled);
        let _ = write_atomically(&path, &bytes);
    }
}

/// Refuses a cache directory others could plant entries in.
fn check_private(dir: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| {
        Error::io(
            format!("cannot read the compile cache {}", dir.display()),
            e,
        )
    })?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let why = if !meta.is_dir() {
        Some("is not a directory (a symbolic link?)".to_owned())
    } else if meta.uid() != me {
        Some(format!("belongs to user {}, not to you", meta.uid()))
    } else if meta.mode() & 0o022 != 0 {
        Some(format!(
            "can be written by others (mode {:o})",
            meta.mode() & 0o777
        ))
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "the compile cache {} {why}; Wharf runs the compiled plugins it holds, so it \
                 must be yours alone: run chmod go-w on it, or set WHARF_CACHE_DIR to a \
                 directory of your own",
                dir.display()
            ),
        )),
    }
}

/// The cache's key: 32 random bytes in `dir/key`, owner-only, made on
/// first use.
fn key(dir: &Path) -> Result<[u8; 32]> {
    let path = dir.join("key");
    if let Ok(bytes) = read_no_follow(&path) {
        if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(key);
        }
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| {
        Error::new(
            ErrorKind::Other,
            format!("cannot make a key for the compile cache: {e}"),
        )
    })?;
    // Published with a hard link, which never replaces a key another
    // process made at the same moment (entries it tagged stay good): the
    // first key made is the one every process uses.
    let temp = temp_path(dir);
    let made = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| file.write_all(&key))
        .and_then(|()| match std::fs::hard_link(&temp, &path) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            linked => linked,
        });
    let _ = std::fs::remove_file(&temp);
    made.map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    let kept = read_no_follow(&path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    <[u8; 32]>::try_from(kept.as_slice()).map_err(|_| {
        Error::new(
            ErrorKind::Other,
            format!("{} is not a compile cache key; remove it", path.display()),
        )
    })
}

/// Reads a file without following a symbolic link at its name.
fn read_no_follow(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(bytes)
}

/// Temporary files of this process told apart: two runtimes in one
/// process can store the same component at once, and with one temporary
/// name per process one would rename away the file the other still writes.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary name in `dir` that no other writer, in this process or
/// another, uses at the same time, and that no one can guess ahead of it.
fn temp_path(dir: &Path) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut nonce = [0u8; 8];
    let _ = getrandom::fill(&mut nonce);
    dir.join(format!(
        ".{}-{n}-{}.tmp",
        std::process::id(),
        u64::from_le_bytes(nonce)
    ))
}

/// Writes `bytes` to `path` whole or not at all: into a new owner-only
/// file (never through a link someone left at its name), then renamed.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("cache entries live in a directory");
    let temp = temp_path(dir);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_differ_within_one_process() {
        let dir = Path::new("/cache");
        assert_ne!(temp_path(dir), temp_path(dir));
    }

    #[test]
    fn concurrent_writes_of_one_entry_all_succeed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry.cwasm");
        let writers: Vec<_> = (0..8u8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        write_atomically(&path, &vec![i; 256 << 10])?;
                    }
                    Ok::<_, std::io::Error>(())
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap().unwrap();
        }
        let entry = std::fs::read(&path).unwrap();
        assert_eq!(entry.len(), 256 << 10);
        assert!(entry.iter().all(|&b| b == entry[0]), "one writer's bytes");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("entry.cwasm")]);
    }
}
