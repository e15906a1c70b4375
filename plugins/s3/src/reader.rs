//! Ranged GETs, streamed a chunk at a time.

use wharf_plugin::http::{RangeRequest, Response};
use wharf_plugin::{ByteRange, HandedStream, Reader, Result};

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

    /// The response body is the object's bytes (or its range's) as they
    /// are: the host reads it itself.
    fn take_stream(&mut self) -> Option<HandedStream> {
        let bytes = self.response.as_mut()?.take_stream()?;
        Some(HandedStream {
            bytes,
            length: None,
        })
    }

    /// The body ended: a short one shows as a failure of the stream (the
    /// host's HTTP client checks the length the server announced). Either
    /// way the response goes now, and its connection with it.
    fn stream_ended(&mut self, _received: u64, failure: Option<String>) -> Result<()> {
        self.response = None;
        match failure {
            None => Ok(()),
            Some(why) => Err(wharf_plugin::Error::unavailable(format!(
                "reading the object failed: {why}"
            ))),
        }
    }
}
