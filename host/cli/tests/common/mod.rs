//! A scratch directory per test, and `wharf` run inside it with nothing
//! from the user's own setup: its own config file, plugin path and cache.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use std::io::{Read, Write};

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

    /// Runs `wharf conformance --json` on the plugin at `wasm` and asserts
    /// the report: nothing failed, and at least 70 of the cases passed
    /// (the rest are not applicable to what the plugin declares).
    pub fn assert_conforms(&self, wasm: &Path) {
        let out = self
            .wharf()
            .args(["conformance", "--json"])
            .arg(wasm)
            .assert()
            .success();
        let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        let text = report.to_string();
        assert_eq!(report["failed"], 0, "{text}");
        assert!(report["passed"].as_u64().unwrap() >= 70, "{text}");
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

    /// The names at the top of the scratch directory that contain `name`,
    /// and Wharf's staging files (`.wharf-…`): what a failed copy to
    /// `name` must not leave.
    pub fn left_of(&self, name: &str) -> Vec<String> {
        std::fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(name) || n.starts_with(".wharf-"))
            .collect()
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

pub const GIB: u64 = 1 << 30;

/// Runs `wharf args…` to completion and returns its peak RSS in KiB.
pub fn peak_rss_kib(s: &Scratch, args: &[&str]) -> i64 {
    // Reaped by wait4 below, which also reports the peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = s.wharf_process().args(args).spawn().expect("wharf starts");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value, and wait4 reaps exactly
    // this child, which std's Child then never waits for again.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "wharf {args:?} failed: {status}"
    );
    usage.ru_maxrss
}

/// 1 GiB of incompressible, reproducible bytes.
pub fn write_big_file(path: &Path) {
    write_pattern_file(path, GIB);
}

/// `size` (whole MiB) incompressible, reproducible bytes.
pub fn write_pattern_file(path: &Path, size: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..(size >> 20) {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
}

pub fn same_contents(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut x, mut y) = (vec![0; 1 << 20], vec![0; 1 << 20]);
    loop {
        let n = a.read(&mut x).unwrap();
        let mut filled = 0;
        while filled < n {
            let m = b.read(&mut y[filled..n]).unwrap();
            if m == 0 {
                return false;
            }
            filled += m;
        }
        if n == 0 {
            return b.read(&mut y).unwrap() == 0;
        }
        if x[..n] != y[..n] {
            return false;
        }
    }
}
