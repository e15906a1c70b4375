//! The on-disk cache of precompiled components. Compiling a component takes
//! tens to hundreds of milliseconds; loading a precompiled one takes well
//! under one, so every run after the first starts fast.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

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

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("cache entries live in a directory");
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".{}.tmp", std::process::id()));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
}
