//! Writes stage into a file nothing lists and become visible in one step.

use wasip2::filesystem::types::Descriptor;
use wharf_plugin::{ObjectMeta, Result, Writer};

use crate::core::{write_all_at, FsCore, Staged};
use crate::error::{parse_error, Op};

/// A write in progress: bytes go to a staging file, unnamed or beside the
/// key (`.wharf-tmp-<random>.part`), named at the key when complete.
pub struct FsWriter {
    key: String,
    staged: Staged,
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
        self.core
            .commit(self.staged, self.file, &self.key, self.only_new)
    }

    fn abort(self) -> Result<()> {
        drop(self.file);
        self.core
            .discard(&self.staged, &self.key)
            .map_err(|e| parse_error(Op::Write, &self.key, e))
    }
}
