//! A scratch directory per test, and `wharf` run inside it with nothing
//! from the user's own setup: its own config file, plugin path and cache.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

pub struct Scratch {
    pub dir: TempDir,
    pub config: PathBuf,
}

impl Scratch {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("wharf.toml");
        std::fs::write(&config, "").unwrap();
        Scratch { dir, config }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.config, text).unwrap();
    }

    /// `wharf` with the scratch directory as its working directory.
    pub fn wharf(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wharf"));
        self.isolate(&mut cmd);
        cmd
    }

    pub fn isolate(&self, cmd: &mut Command) {
        cmd.current_dir(self.path())
            .env_remove("WHARF_REMOTE_MEDIA_ROOT");
        for (name, value) in self.environment() {
            cmd.env(name, value);
        }
    }

    /// `wharf` as a plain process, for tests that measure it.
    pub fn wharf_process(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_wharf"));
        cmd.current_dir(self.path())
            .env_remove("WHARF_REMOTE_MEDIA_ROOT");
        for (name, value) in self.environment() {
            cmd.env(name, value);
        }
        cmd
    }

    fn environment(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("WHARF_CONFIG", self.config.clone()),
            ("WHARF_PLUGIN_PATH", self.path().join("plugins")),
            ("WHARF_CACHE_DIR", cache_dir()),
            ("XDG_DATA_HOME", self.path().join("xdg-data")),
        ]
    }

    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path().join(name)).unwrap()
    }

    /// Every file under `dir` (relative), sorted, staging files included.
    pub fn files_under(&self, dir: &str) -> Vec<String> {
        let root = self.path().join(dir);
        let mut found = Vec::new();
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    found.push(
                        path.strip_prefix(&root)
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
        found.sort();
        found
    }
}

/// One compile cache for every test run, inside the target directory.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wharf-cache")
}
