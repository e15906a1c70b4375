//! Writes stage into a hidden file and become visible in one rename.

use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;

use wharf_plugin::{ObjectMeta, Result, Writer};

use crate::core::{parse_error, FsCore, Op};

/// A write in progress: bytes go to a staging file under `.wharf-tmp/`.
pub struct FsWriter {
    key: String,
    staged: PathBuf,
    file: File,
    core: FsCore,
}

impl FsWriter {
    pub fn create(core: &FsCore, key: &str) -> Result<Self> {
        core.path(key)?;
        let (staged, file) = core.stage(key)?;
        Ok(FsWriter {
            key: key.to_owned(),
            staged,
            file,
            core: core.clone(),
        })
    }
}

impl Writer for FsWriter {
    fn write(&mut self, chunk: Vec<u8>) -> Result<()> {
        self.file
            .write_all(&chunk)
            .map_err(|e| parse_error(Op::Write, &self.key, e))
    }

    fn finish(self) -> Result<ObjectMeta> {
        drop(self.file);
        self.core.commit(&self.staged, &self.key)
    }

    fn abort(self) -> Result<()> {
        drop(self.file);
        match fs::remove_file(&self.staged) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(parse_error(Op::Write, &self.key, e)),
        }
    }
}
