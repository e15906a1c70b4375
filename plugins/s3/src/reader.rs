//! Ranged GETs, streamed a chunk at a time.

use wharf_plugin::http::{RangeRequest, Response};
use wharf_plugin::{ByteRange, Reader, Result};

use crate::core::S3Core;

/// A GET in progress; `None` when the range is empty.
pub struct S3Reader {
    response: Option<Response>,
}

impl S3Reader {
    pub fn open(core: &S3Core, key: &str, range: Option<ByteRange>) -> Result<Self> {
        let header = match RangeRequest::of(range.as_ref()) {
            RangeRequest::Whole => None,
            RangeRequest::Nothing => return Self::empty(core, key),
            RangeRequest::Header(header) => Some(header),
        };
        let headers: Vec<(String, String)> = header
            .into_iter()
            .map(|h| ("range".to_owned(), h))
            .collect();
        let response = core.send("GET", &core.object_path(key), &[], &headers, b"")?;
        match response.status() {
            200 | 206 => Ok(S3Reader {
                response: Some(response),
            }),
            // The range starts past the end: the contract reads nothing.
            416 => Ok(S3Reader { response: None }),
            _ => Err(core.parse_error(&format!("read {key:?}"), response)),
        }
    }

    /// An empty read of an object that must still exist.
    fn empty(core: &S3Core, key: &str) -> Result<Self> {
        crate::stat(core, key)?;
        Ok(S3Reader { response: None })
    }
}

impl Reader for S3Reader {
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        match self.response.as_mut() {
            Some(response) => response.read(max_bytes),
            None => Ok(Vec::new()),
        }
    }
}
