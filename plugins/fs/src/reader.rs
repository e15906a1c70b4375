//! Reads a file, whole or a byte range of it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Take};

use wharf_plugin::{read_chunk, ByteRange, Error, Reader, Result};

use crate::core::FsCore;
use crate::error::{parse_error, Op};

/// A read of one file, limited to the requested range.
pub struct FsReader {
    key: String,
    file: Take<File>,
}

impl FsReader {
    pub fn open(core: &FsCore, key: &str, range: Option<ByteRange>) -> Result<Self> {
        let path = core.path(key)?;
        let mut file = File::open(&path).map_err(|e| parse_error(Op::Read, key, e))?;
        let metadata = file.metadata().map_err(|e| parse_error(Op::Read, key, e))?;
        if !metadata.is_file() {
            return Err(Error::not_found(format!(
                "no object at {key:?}: it is a directory, which holds other keys"
            )));
        }
        let size = metadata.len();
        let (offset, length) = match range {
            None => (0, size),
            Some(ByteRange::Span(span)) => (span.offset, span.length),
            Some(ByteRange::From(offset)) => (offset, u64::MAX),
            Some(ByteRange::Suffix(last)) => (size.saturating_sub(last), last),
        };
        // A range past the end reads nothing (the contract says so), which a
        // seek past the end already gives.
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| parse_error(Op::Read, key, e))?;
        Ok(FsReader {
            key: key.to_owned(),
            file: file.take(length),
        })
    }
}

impl Reader for FsReader {
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        let max = max_bytes.min(usize::try_from(self.file.limit()).unwrap_or(usize::MAX));
        read_chunk(&mut self.file, max).map_err(|e| parse_error(Op::Read, &self.key, e))
    }
}
