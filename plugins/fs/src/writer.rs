//! Writes stage into a hidden file and become visible in one rename.

use std::path::PathBuf;

use wasip2::filesystem::types::Descriptor;
use wharf_plugin::{ObjectMeta, Result, Writer};

use crate::core::{write_all_at, FsCore};
use crate::error::{parse_error, Op};

/// A write in progress: bytes go to a staging file beside the key
/// (`.wharf-tmp-<random>.part`).
pub struct FsWriter {
    key: String,
    staged: PathBuf,
    file: Descriptor,
    written: u64,
    core: FsCore,
    /// A write-new: `finish` must not replace an object.
    only_new: bool,
}

impl FsWriter {
    pub fn create(core: &FsCore, key: &str, only_new: bool) -> Result<Self> {
        core.path(key)?;
        let (staged, file) = core.stage(key)?;
        Ok(FsWriter {
            key: key.to_owned(),
            staged,
            file,
            written: 0,
            core: core.clone(),
            only_new,
        })
    }
}

impl Writer for FsWriter {
    fn write(&mut self, chunk: Vec<u8>) -> Result<()> {
        write_all_at(&self.file, &chunk, self.written)
            .map_err(|e| parse_error(Op::Write, &self.key, e))?;
        self.written += chunk.len() as u64;
        Ok(())
    }

    fn finish(self) -> Result<ObjectMeta> {
        // Closed before the rename (which some systems refuse on an open
        // file), after asking it what was written.
        let written = self.file.stat().ok();
        drop(self.file);
        self.core
            .commit(&self.staged, &self.key, self.only_new, written)
    }

    fn abort(self) -> Result<()> {
        drop(self.file);
        self.core
            .discard(&self.staged, &self.key)
            .map_err(|e| parse_error(Op::Write, &self.key, e))
    }
}
