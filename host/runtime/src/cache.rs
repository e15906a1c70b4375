//! The on-disk cache of precompiled components. Compiling a component takes
//! tens to hundreds of milliseconds; loading a precompiled one takes well
//! under one, so every run after the first starts fast.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::Component;
use wasmtime::Engine;

/// A directory of precompiled components, keyed by the component's sha256
/// and by everything in the engine that makes compiled code incompatible.
#[derive(Debug, Clone)]
pub(crate) struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    pub fn new(dir: PathBuf) -> Self {
        CompileCache { dir }
    }

    fn entry(&self, engine: &Engine, sha256: &str) -> PathBuf {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        self.dir
            .join(format!("{sha256}-{:016x}.cwasm", hasher.finish()))
    }

    /// The cached compilation of the component with this hash, if there is
    /// a usable one.
    pub fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let path = self.entry(engine, sha256);
        if !path.exists() {
            return None;
        }
        // SAFETY: the file was written by `store` below from wasmtime's own
        // compiler, and its name binds it to this engine's configuration.
        // The cache directory is the user's own, as wasmtime's cache is.
        unsafe { Component::deserialize_file(engine, &path) }.ok()
    }

    /// Saves a compiled component; a failure only costs a recompile later,
    /// so it is not reported.
    pub fn store(&self, engine: &Engine, sha256: &str, component: &Component) {
        let path = self.entry(engine, sha256);
        let Ok(bytes) = component.serialize() else {
            return;
        };
        let _ = write_atomically(&path, &bytes);
    }
}

/// Temporary files of this process told apart: two runtimes in one
/// process can store the same component at once, and with one temporary
/// name per process one would rename away the file the other still writes.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary name in `dir` that no other writer, in this process or
/// another, uses at the same time.
fn temp_path(dir: &Path) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{}-{n}.tmp", std::process::id()))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("cache entries live in a directory");
    std::fs::create_dir_all(dir)?;
    let temp = temp_path(dir);
    let written = std::fs::write(&temp, bytes).and_then(|()| std::fs::rename(&temp, path));
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
