//! Reads: `files/download` with an HTTP range, streamed.

use serde_json::json;
use wharf_plugin::http::Response;
use wharf_plugin::{ByteRange, Reader, Result};

use crate::DropboxBackend;

/// A download in progress; `None` when the range holds no bytes.
pub struct DropboxReader {
    response: Option<Response>,
}

impl DropboxReader {
    pub fn open(store: &DropboxBackend, key: &str, range: Option<ByteRange>) -> Result<Self> {
        let what = format!("read {key:?}");
        let range = match range {
            None => None,
            Some(ByteRange::Span(span)) if span.length == 0 => return empty(store, key),
            Some(ByteRange::Span(span)) => Some(format!(
                "bytes={}-{}",
                span.offset,
                span.offset.saturating_add(span.length - 1)
            )),
            Some(ByteRange::From(0)) => None,
            Some(ByteRange::From(offset)) => Some(format!("bytes={offset}-")),
            Some(ByteRange::Suffix(0)) => return empty(store, key),
            Some(ByteRange::Suffix(n)) => Some(format!("bytes=-{n}")),
        };
        let core = &store.core;
        let arg = json!({ "path": core.config.path(key) });
        let response = core.download(&what, "files/download", &arg, range.as_deref())?;
        // 416: the range starts past the end, which reads as nothing.
        let response = (response.status() != 416).then_some(response);
        Ok(DropboxReader { response })
    }
}

/// No bytes are wanted, but a missing object is still an error.
fn empty(store: &DropboxBackend, key: &str) -> Result<DropboxReader> {
    store.stat_file(key)?;
    Ok(DropboxReader { response: None })
}

impl Reader for DropboxReader {
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        match &mut self.response {
            Some(response) => response.read(max_bytes),
            None => Ok(Vec::new()),
        }
    }
}
