//! RETR, from an offset with REST, streamed a chunk at a time. A transfer
//! that ends early (some servers close the data connection with a 226
//! before everything is sent) is noticed by checking the size at the end,
//! and resumed from where it stopped.

use std::rc::Rc;

use wharf_plugin::net::{Connection, NetError};
use wharf_plugin::{ByteRange, HandedStream, Reader, Result};

use crate::error::{FtpError, FtpResult};
use crate::pool::{Lease, Pool};

/// How often a transfer that ended early is resumed before giving up.
const RESUMES: u32 = 3;

/// A download in progress.
pub struct FtpReader {
    pool: Rc<Pool>,
    key: String,
    what: String,
    lease: Option<Lease>,
    data: Option<Connection>,
    /// The offset of the next byte to come.
    position: u64,
    /// Where a span ends (exclusive); `None` to the end of the object.
    end: Option<u64>,
    resumed: u32,
}

impl FtpReader {
    pub fn open(pool: &Rc<Pool>, key: &str, range: Option<ByteRange>) -> FtpResult<FtpReader> {
        let what = format!("read {key:?}");
        let mut lease = pool.take()?;
        let started = match Self::start(pool, &mut lease, key, range, &what) {
            Err(e) if e.is_lost_connection() => {
                lease.discard();
                lease = pool.take()?;
                Self::start(pool, &mut lease, key, range, &what)
            }
            result => result,
        };
        let (data, position, end) = started?;
        Ok(FtpReader {
            pool: pool.clone(),
            key: key.to_owned(),
            what,
            lease: Some(lease),
            data,
            position,
            end,
            resumed: 0,
        })
    }

    /// Starts the transfer: (the data connection, none when the range is
    /// empty; the first offset; the end of a span).
    fn start(
        pool: &Rc<Pool>,
        lease: &mut Lease,
        key: &str,
        range: Option<ByteRange>,
        what: &str,
    ) -> FtpResult<(Option<Connection>, u64, Option<u64>)> {
        let control = lease.control();
        // Anything but a whole read needs the size first: a suffix is
        // counted from the end, and a REST past the end is an error on
        // some servers.
        let (offset, length) = match range {
            None => (0, None),
            Some(range) => {
                let size = crate::core::stat(&pool.config, control, key)?.size;
                let (offset, length) = match range {
                    ByteRange::Span(span) => (span.offset, Some(span.length)),
                    ByteRange::From(offset) => (offset, None),
                    ByteRange::Suffix(last) => (size.saturating_sub(last), None),
                };
                let offset = offset.min(size);
                (
                    offset,
                    Some(length.map_or(size - offset, |l| l.min(size - offset))),
                )
            }
        };
        let end = length.map(|l| offset + l);
        if length == Some(0) {
            return Ok((None, offset, end));
        }
        let data = Self::retrieve(pool, control, key, offset, what)?;
        Ok((Some(data), offset, end))
    }

    /// RETR from `offset`.
    fn retrieve(
        pool: &Pool,
        control: &mut crate::control::Control,
        key: &str,
        offset: u64,
        what: &str,
    ) -> FtpResult<Connection> {
        let line = format!("RETR {}", crate::core::path(&pool.config, control, key));
        match control.start_transfer_at(what, &line, offset, pool.config.timeout) {
            Err(FtpError::Refused { reply, .. }) if matches!(reply.code, 450 | 550 | 551) => {
                Err(FtpError::NotFound {
                    what: what.to_owned(),
                })
            }
            result => result,
        }
    }

    /// The data connection closed: checks the transfer's reply and that
    /// everything wanted came, resuming from `position` if it did not.
    /// Returns whether there is more to read.
    fn transfer_ended(&mut self) -> FtpResult<bool> {
        let lease = self.lease.as_mut().expect("a reader holds its connection");
        let control = lease.control();
        control.end_transfer(&self.what, "RETR")?;
        let size = crate::core::stat(&self.pool.config, control, &self.key)?.size;
        let target = self.end.unwrap_or(size).min(size);
        if self.position >= target {
            return Ok(false);
        }
        if self.resumed >= RESUMES {
            return Err(FtpError::Protocol {
                what: self.what.clone(),
                detail: format!(
                    "the server ended the transfer at byte {} of {target}, {RESUMES} times over",
                    self.position
                ),
            });
        }
        self.resumed += 1;
        let data = Self::retrieve(&self.pool, control, &self.key, self.position, &self.what)?;
        self.data = Some(data);
        Ok(true)
    }

    fn fail(&mut self, error: FtpError) -> wharf_plugin::Error {
        self.data = None;
        if let Some(mut lease) = self.lease.take() {
            lease.discard();
        }
        error.into()
    }
}

impl Reader for FtpReader {
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        let want = self.end.map_or(max_bytes, |end| {
            (end - self.position).min(max_bytes as u64) as usize
        });
        let mut chunk = Vec::with_capacity(want.min(1 << 20));
        while chunk.len() < want {
            let Some(data) = self.data.as_mut() else {
                break;
            };
            let bytes = match data.read(want - chunk.len()) {
                Ok(bytes) => bytes,
                Err(e) => {
                    let error = FtpError::net(&self.what, e);
                    return Err(self.fail(error));
                }
            };
            if bytes.is_empty() {
                self.data = None;
                match self.transfer_ended() {
                    Ok(true) => continue,
                    Ok(false) => {
                        // Done: the connection goes back to the pool.
                        self.lease = None;
                        break;
                    }
                    Err(e) => return Err(self.fail(e)),
                }
            }
            self.position += bytes.len() as u64;
            chunk.extend_from_slice(&bytes);
        }
        if self.end == Some(self.position) && self.data.is_some() {
            // The span is read; the rest of the file is not wanted. The
            // connection is mid-transfer, so it is not reused.
            self.data = None;
            if let Some(mut lease) = self.lease.take() {
                lease.discard();
            }
        }
        Ok(chunk)
    }

    /// The data connection goes to the host as it is: its bytes are the
    /// file's, from the position on. For a span the host stops at the
    /// span's end.
    fn take_stream(&mut self) -> Option<HandedStream> {
        let length = self.end.map(|end| end - self.position);
        let bytes = self.data.as_mut()?.take_input()?;
        Some(HandedStream { bytes, length })
    }

    /// The host read the data connection to its close: the same check as
    /// when `read` sees it close (the transfer's reply, the size, a resume
    /// from where it stopped).
    fn stream_ended(&mut self, received: u64, failure: Option<String>) -> Result<()> {
        self.position += received;
        if let Some(why) = failure {
            let error = FtpError::net(&self.what, NetError::Unreachable(why));
            return Err(self.fail(error));
        }
        if self.end == Some(self.position) {
            // The span is read; the rest of the file is not wanted. The
            // connection is mid-transfer, so it is not reused.
            self.data = None;
            if let Some(mut lease) = self.lease.take() {
                lease.discard();
            }
            return Ok(());
        }
        self.data = None;
        match self.transfer_ended() {
            // Resumed: the next data connection is handed over in turn.
            Ok(true) => Ok(()),
            Ok(false) => {
                // Done: the connection goes back to the pool, and `read`
                // returns the end.
                self.lease = None;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
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
