//! RETR, from an offset with REST, streamed a chunk at a time.

use std::rc::Rc;

use wharf_plugin::net::Connection;
use wharf_plugin::{ByteRange, Reader, Result};

use crate::error::{FtpError, FtpResult};
use crate::pool::{Lease, Pool};

/// A download in progress; `None` parts once it has ended.
pub struct FtpReader {
    what: String,
    lease: Option<Lease>,
    data: Option<Connection>,
    /// Bytes still wanted, for a span; `None` to the end.
    remaining: Option<u64>,
}

impl FtpReader {
    pub fn open(pool: &Rc<Pool>, key: &str, range: Option<ByteRange>) -> FtpResult<FtpReader> {
        let what = format!("read {key:?}");
        let mut lease = pool.take()?;
        match Self::start(pool, &mut lease, key, range, &what) {
            Err(e) if e.is_lost_connection() => {
                lease.discard();
                let mut lease = pool.take()?;
                Self::start(pool, &mut lease, key, range, &what)
                    .map(|(data, remaining)| Self::new(what, lease, data, remaining))
            }
            Err(e) => Err(e),
            Ok((data, remaining)) => Ok(Self::new(what, lease, data, remaining)),
        }
    }

    fn new(what: String, lease: Lease, data: Option<Connection>, remaining: Option<u64>) -> Self {
        FtpReader {
            what,
            lease: Some(lease),
            data,
            remaining,
        }
    }

    /// Starts the transfer; no data connection when the range is empty.
    fn start(
        pool: &Rc<Pool>,
        lease: &mut Lease,
        key: &str,
        range: Option<ByteRange>,
        what: &str,
    ) -> FtpResult<(Option<Connection>, Option<u64>)> {
        let config = &pool.config;
        let control = lease.control();
        // Where to start and how much to read. Anything but a whole read
        // needs the size first: a suffix is counted from the end, and a
        // REST past the end is an error on some servers.
        let (offset, length) = match range {
            None => (0, None),
            Some(range) => {
                let size = crate::stat(config, control, key)?.size;
                match range {
                    ByteRange::Span(span) => (span.offset, Some(span.length)),
                    ByteRange::From(offset) => (offset, None),
                    ByteRange::Suffix(last) => (size.saturating_sub(last), None),
                }
                .into_bounded(size)
            }
        };
        if length == Some(0) {
            return Ok((None, Some(0)));
        }
        let path = crate::path(config, control, key);
        let line = format!("RETR {path}");
        match control.start_transfer_at(what, &line, offset, config.timeout) {
            Ok(data) => Ok((Some(data), length)),
            Err(FtpError::Refused { reply, .. }) if matches!(reply.code, 450 | 550 | 551) => {
                Err(FtpError::NotFound {
                    what: what.to_owned(),
                })
            }
            Err(e) => Err(e),
        }
    }
}

trait Bounded {
    fn into_bounded(self, size: u64) -> (u64, Option<u64>);
}

impl Bounded for (u64, Option<u64>) {
    /// Clips a range to an object of `size` bytes: nothing past the end.
    fn into_bounded(self, size: u64) -> (u64, Option<u64>) {
        let (offset, length) = self;
        if offset >= size {
            return (size, Some(0));
        }
        let left = size - offset;
        (offset, Some(length.map_or(left, |l| l.min(left))))
    }
}

impl Reader for FtpReader {
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        let Some(data) = self.data.as_mut() else {
            return Ok(Vec::new());
        };
        let want = self
            .remaining
            .map_or(max_bytes, |r| r.min(max_bytes as u64) as usize);
        let mut chunk = Vec::with_capacity(want.min(1 << 20));
        while chunk.len() < want {
            let bytes = match data.read(want - chunk.len()) {
                Ok(bytes) => bytes,
                Err(e) => {
                    self.data = None;
                    if let Some(mut lease) = self.lease.take() {
                        lease.discard();
                    }
                    return Err(FtpError::net(&self.what, e).into());
                }
            };
            if bytes.is_empty() {
                // The server closed the data connection: the transfer
                // ended; its reply says whether it went well.
                self.data = None;
                let mut lease = self.lease.take().expect("a reader holds its connection");
                if let Err(e) = lease.control().end_transfer(&self.what, "RETR") {
                    lease.discard();
                    return Err(e.into());
                }
                break;
            }
            chunk.extend_from_slice(&bytes);
        }
        if let Some(remaining) = self.remaining.as_mut() {
            *remaining -= chunk.len() as u64;
            if *remaining == 0 && self.data.is_some() {
                // The span is read; the rest of the file is not wanted.
                // The connection is mid-transfer, so it is not reused.
                self.data = None;
                if let Some(mut lease) = self.lease.take() {
                    lease.discard();
                }
            }
        }
        Ok(chunk)
    }
}

impl Drop for FtpReader {
    fn drop(&mut self) {
        if self.data.take().is_some() {
            if let Some(mut lease) = self.lease.take() {
                lease.discard();
            }
        }
    }
}
