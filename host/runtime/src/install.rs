//! Installed plugins: `wharf plugins install` copies a `.wasm` into the
//! plugin directory and records its sha256 in `plugins.lock` beside the
//! user's config file: not beside the plugin, where whoever can replace
//! the file could replace its record too. A recorded plugin whose file
//! later changes is refused until it is installed again, so a file swapped
//! behind the user's back never runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, ErrorKind, Result};

/// The name of the record file, in the directory of the config file.
pub const LOCK_FILE: &str = "plugins.lock";

/// What was recorded when a plugin was installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEntry {
    /// The sha256 of the installed file, in hex.
    pub sha256: String,
    /// Where it was installed from.
    pub source: String,
}

/// The records, by the installed file's absolute path.
#[derive(Debug, Default, Serialize, Deserialize)]
struct LockFile {
    #[serde(default)]
    plugins: BTreeMap<String, LockEntry>,
}

/// The record of installed plugins.
#[derive(Debug)]
pub struct PluginLock {
    path: PathBuf,
    file: LockFile,
}

impl PluginLock {
    /// Reads the record at `path` (empty if there is none yet).
    pub fn read(path: &Path) -> Result<Self> {
        let path = path.to_path_buf();
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "{} is damaged ({e}); remove it and install the plugins again",
                        path.display()
                    ),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LockFile::default(),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        Ok(PluginLock { path, file })
    }

    /// What was recorded for the plugin installed as `file`, if any.
    pub fn entry(&self, file: &Path) -> Option<&LockEntry> {
        self.file.plugins.get(&key(file))
    }

    /// Refuses `bytes` as plugin `name` (the file `file`) if it was
    /// installed and has changed.
    pub fn verify(&self, name: &str, file: &Path, bytes: &[u8]) -> Result<()> {
        let Some(entry) = self.entry(file) else {
            return Ok(());
        };
        let actual = hex::encode(Sha256::digest(bytes));
        if actual == entry.sha256 {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::InvalidPlugin,
            format!(
                "plugin file {} changed since it was installed (installed sha256 {}, now {}); it is \
                 refused until you install it again: wharf plugins install PATH.wasm --name {name}",
                file.display(),
                &entry.sha256[..16],
                &actual[..16]
            ),
        ))
    }

    /// Copies `source` into plugin directory `dir` as `<name>.wasm` and
    /// records it.
    pub fn install(
        &mut self,
        dir: &Path,
        name: &str,
        source: &Path,
        bytes: &[u8],
    ) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::io(
                format!("cannot create the plugin directory {}", dir.display()),
                e,
            )
        })?;
        let target = dir.join(format!("{name}.wasm"));
        write_atomically(&target, bytes)?;
        self.file.plugins.insert(
            key(&target),
            LockEntry {
                sha256: hex::encode(Sha256::digest(bytes)),
                source: source.display().to_string(),
            },
        );
        let text = toml::to_string_pretty(&self.file).expect("the lock serializes");
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
        }
        write_atomically(&self.path, text.as_bytes())?;
        Ok(target)
    }
}

/// How a plugin file is named in the record: its absolute path.
fn key(file: &Path) -> String {
    std::path::absolute(file)
        .unwrap_or_else(|_| file.to_path_buf())
        .display()
        .to_string()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temp, bytes)
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            Error::io(format!("cannot write {}", path.display()), e)
        })
}
