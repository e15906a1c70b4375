//! Reads: `files/download` with an HTTP range, streamed.

use serde_json::json;
use wharf_plugin::http::{RangeRequest, Response};
use wharf_plugin::{ByteRange, Reader, Result};

use crate::meta::FileMeta;
use crate::DropboxBackend;

/// A download in progress; `None` when the range holds no bytes.
pub struct DropboxReader {
    response: Option<Response>,
    /// Bytes still to drop from the front: a server that ignores `Range`
    /// answers 200 with the whole file, and the range is cut out here.
    skip: u64,
    /// Bytes still to return, if the range ends before the file does.
    left: Option<u64>,
}

impl DropboxReader {
    pub fn open(store: &DropboxBackend, key: &str, range: Option<ByteRange>) -> Result<Self> {
        let what = format!("read {key:?}");
        let header = match RangeRequest::of(range.as_ref()) {
            RangeRequest::Whole => None,
            RangeRequest::Nothing => return empty(store, key),
            RangeRequest::Header(header) => Some(header),
        };
        let core = &store.core;
        let arg = json!({ "path": core.config.path(key) });
        let response = match core.download(&what, "files/download", &arg, header.as_deref()) {
            // 416: the range starts past the end, which reads as nothing.
            Ok(response) if response.status() == 416 => return Ok(nothing()),
            Ok(response) => response,
            // Dropbox says the same as a route error.
            Err(e) if e.tags().contains(&"not_satisfiable") => return Ok(nothing()),
            Err(e) => return Err(e.into()),
        };
        let (mut skip, mut left) = (0, None);
        if response.status() == 200 {
            if let Some(range) = range {
                let size = response
                    .header("dropbox-api-result")
                    .and_then(|r| serde_json::from_str::<FileMeta>(r).ok())
                    .map(|file| file.size)
                    .unwrap_or(0);
                let (start, length) = match range {
                    ByteRange::Span(span) => (span.offset, Some(span.length)),
                    ByteRange::From(offset) => (offset, None),
                    ByteRange::Suffix(n) => (size.saturating_sub(n), None),
                };
                skip = start.min(size);
                left = length;
            }
        }
        Ok(DropboxReader {
            response: Some(response),
            skip,
            left,
        })
    }
}

fn nothing() -> DropboxReader {
    DropboxReader {
        response: None,
        skip: 0,
        left: Some(0),
    }
}

/// No bytes are wanted, but a missing object is still an error.
fn empty(store: &DropboxBackend, key: &str) -> Result<DropboxReader> {
    store.stat_file(key)?;
    Ok(nothing())
}

impl Reader for DropboxReader {
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        let Some(response) = &mut self.response else {
            return Ok(Vec::new());
        };
        while self.skip > 0 {
            let dropped = response.read(self.skip.min(1 << 20) as usize)?;
            if dropped.is_empty() {
                return Ok(Vec::new());
            }
            self.skip -= dropped.len() as u64;
        }
        let want = match self.left {
            Some(0) => return Ok(Vec::new()),
            Some(left) => left.min(max_bytes as u64) as usize,
            None => max_bytes,
        };
        let chunk = response.read(want)?;
        if let Some(left) = &mut self.left {
            *left -= chunk.len() as u64;
        }
        Ok(chunk)
    }
}
