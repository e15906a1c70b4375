//! Uploads: STOR to a temporary name in the store's root, streamed, then
//! RNFR/RNTO onto the key, so the key never names a partial file. The
//! key's directories are made (MKD) just before the rename, and made again
//! if a delete running at the same time pruned them in between: the bytes
//! are safe in the temporary file until the rename lands. An aborted
//! upload's temporary file is deleted.

use std::rc::Rc;

use wasip2::io::streams::OutputStream;
use wharf_plugin::net::Connection;
use wharf_plugin::{ObjectMeta, Result, Writer};

use crate::control::Control;
use crate::core::{is_dir, path, prune, stat};
use crate::error::{FtpError, FtpResult};
use crate::pool::{Lease, Pool};
use crate::TEMP_PREFIX;

/// How many more times a rename whose directory a concurrent delete pruned
/// makes the directories again and retries.
const RENAME_TRIES: u32 = 5;

/// An upload in progress.
pub struct FtpWriter {
    pool: Rc<Pool>,
    key: String,
    /// The temporary file's key, in the root: a directory that deletes
    /// never prune.
    temp_key: String,
    lease: Option<Lease>,
    data: Option<Connection>,
}

impl FtpWriter {
    pub fn open(pool: &Rc<Pool>, key: &str) -> FtpResult<FtpWriter> {
        let temp_key = format!(
            "{TEMP_PREFIX}{:016x}",
            wasip2::random::random::get_random_u64()
        );
        let mut writer = FtpWriter {
            pool: pool.clone(),
            key: key.to_owned(),
            temp_key,
            lease: None,
            data: None,
        };
        let mut lease = pool.take()?;
        let data = match writer.start(lease.control()) {
            Err(e) if e.is_lost_connection() => {
                lease.discard();
                lease = pool.take()?;
                writer.start(lease.control())
            }
            result => result,
        };
        match data {
            Ok(data) => {
                writer.data = Some(data);
                writer.lease = Some(lease);
                Ok(writer)
            }
            Err(e) => {
                lease.discard();
                Err(e)
            }
        }
    }

    fn what(&self) -> String {
        format!("write {:?}", self.key)
    }

    /// STOR to the temporary name.
    fn start(&self, control: &mut Control) -> FtpResult<Connection> {
        let config = &self.pool.config;
        let line = format!("STOR {}", path(config, control, &self.temp_key));
        control.start_transfer(&self.what(), &line, config.timeout)
    }

    /// MKD for each directory of `key` not known to exist, from the top;
    /// "exists" replies are fine (a real refusal shows at the rename).
    fn make_dirs(pool: &Pool, key: &str, what: &str, control: &mut Control) -> FtpResult<()> {
        let mut end = 0;
        while let Some(slash) = key[end..].find('/') {
            end += slash;
            let dir = &key[..end];
            if !pool.known_dirs.borrow().contains(dir) {
                control.command(what, &format!("MKD {}", path(&pool.config, control, dir)))?;
                pool.known_dirs.borrow_mut().insert(dir.to_owned());
            }
            end += 1;
        }
        Ok(())
    }

    /// Ends the data transfer and reads the server's verdict.
    fn end_upload(&mut self) -> FtpResult<()> {
        let what = self.what();
        let mut data = self.data.take().expect("the upload is open");
        // The server's reply is the verdict (and must be read either way,
        // or the next command would get it): a failed close matters only
        // if the server did not confirm the transfer.
        let closed = data.shutdown_send().map_err(|e| FtpError::net(&what, e));
        // Over TLS the close notification ends the upload; the connection
        // stays open until the server has said so (an early TCP close can
        // make a server stop reading before it drained what TLS buffered).
        let open = if data.is_tls() { Some(data) } else { None };
        let lease = self.lease.as_mut().expect("a writer holds its connection");
        let reply = lease.control().end_transfer(&what, "STOR");
        drop(open);
        match reply {
            Ok(_) => Ok(()),
            Err(e) if e.is_lost_connection() => closed.and(Err(e)),
            Err(e) => Err(e),
        }
    }

    /// Moves the finished temporary file onto the key.
    fn rename_into_place(&mut self) -> FtpResult<()> {
        let config = &self.pool.config;
        let what = self.what();
        let (key, temp_key) = (self.key.clone(), self.temp_key.clone());
        let control = self
            .lease
            .as_mut()
            .expect("a writer holds its connection")
            .control();
        let from = path(config, control, &temp_key);
        let to = path(config, control, &key);
        // A directory at the key is a prefix of other keys, which a file
        // cannot replace; some servers would rename over it regardless.
        if is_dir(control, &what, &to)? {
            return Err(FtpError::AlreadyExists {
                what,
                detail: format!(
                    "{key:?} is a prefix of other keys, so it cannot also be an object"
                ),
            });
        }
        let rename = |control: &mut Control| -> FtpResult<bool> {
            control.expect(&what, &format!("RNFR {from}"), &[350])?;
            Ok(control.command(&what, &format!("RNTO {to}"))?.is_success())
        };
        let pool = &self.pool;
        // A directory this store made (or knew of) may have been pruned by a
        // delete since: while the key's directory is missing, make them all
        // again and retry, a bounded number of times (each loss needs
        // another delete to land in that moment).
        for _ in 0..=RENAME_TRIES {
            Self::make_dirs(pool, &key, &what, control)?;
            if rename(control)? {
                return Ok(());
            }
            let parent_there = match key.rsplit_once('/') {
                None => true,
                Some((dir, _)) => {
                    let dir = path(config, control, dir);
                    is_dir(control, &what, &dir)?
                }
            };
            if parent_there {
                break;
            }
            pool.known_dirs.borrow_mut().clear();
        }
        // An object where a directory must be: say which.
        blocking_object(pool, control, &key, &what)?;
        // Some servers will not rename over an existing file: delete it,
        // then rename (a moment with no object at the key, but never a
        // partial one).
        control.command(&what, &format!("DELE {to}"))?;
        control.expect(&what, &format!("RNFR {from}"), &[350])?;
        control.expect(&what, &format!("RNTO {to}"), &[250])?;
        Ok(())
    }

    /// Deletes the temporary file and the directories made for it, best
    /// effort: the connection may be what failed.
    fn clean_up(&mut self) {
        let Some(mut lease) = self.lease.take() else {
            return;
        };
        let config = &self.pool.config;
        let control = lease.control();
        let temp = path(config, control, &self.temp_key);
        let what = self.what();
        let cleaned = control
            .command(&what, &format!("DELE {temp}"))
            .and_then(|_| prune(&self.pool, control, &self.temp_key));
        if cleaned.is_err() {
            lease.discard();
        }
    }
}

impl Writer for FtpWriter {
    fn write(&mut self, chunk: Vec<u8>) -> Result<()> {
        let what = self.what();
        let Some(data) = self.data.as_mut() else {
            return Err(FtpError::Misuse {
                what: format!("{what}: the upload has already failed or ended"),
            }
            .into());
        };
        if let Err(e) = data.write_all(&chunk) {
            self.data = None;
            // The transfer is dead; the temporary file goes, on a fresh
            // connection if this one died with it.
            if let Some(mut lease) = self.lease.take() {
                lease.discard();
            }
            if let Ok(lease) = self.pool.take() {
                self.lease = Some(lease);
                self.clean_up();
            }
            return Err(FtpError::net(&what, e).into());
        }
        Ok(())
    }

    /// The data connection takes the object's bytes as they are: the host
    /// writes them into it itself (plain connections only; see
    /// `Connection::take_output`). `finish` then ends the upload as ever.
    fn take_stream(&mut self) -> Option<OutputStream> {
        self.data.as_mut()?.take_output()
    }

    fn finish(mut self) -> Result<ObjectMeta> {
        let result = match self.end_upload() {
            // Some servers take the STOR and fail only at the end, when
            // the directory could not be made: say why, if that is it.
            Err(FtpError::Refused {
                what,
                command,
                reply,
            }) => {
                let lease = self.lease.as_mut().expect("a writer holds its connection");
                let blocked = blocking_object(&self.pool, lease.control(), &self.key, &what);
                blocked.and(Err(FtpError::Refused {
                    what,
                    command,
                    reply,
                }))
            }
            result => result,
        }
        .and_then(|()| self.rename_into_place());
        if let Err(e) = result {
            self.clean_up();
            return Err(e.into());
        }
        let config = &self.pool.config;
        let mut lease = self.lease.take().expect("a writer holds its connection");
        let meta = stat(config, lease.control(), &self.key);
        Ok(meta?)
    }

    fn abort(mut self) -> Result<()> {
        if let Some(data) = self.data.take() {
            // Closing the data connection ends the STOR; what the server
            // kept is the temporary file, deleted next.
            drop(data);
            let what = self.what();
            if let Some(lease) = self.lease.as_mut() {
                // A failed-transfer reply (426) is as good as a 226 here;
                // a dead connection shows in the clean-up.
                let _ = lease.control().end_transfer(&what, "STOR");
            }
        }
        self.clean_up();
        Ok(())
    }
}

impl Drop for FtpWriter {
    fn drop(&mut self) {
        if self.data.take().is_some() {
            if let Some(mut lease) = self.lease.take() {
                lease.discard();
            }
        }
    }
}

/// Fails with `already-exists` if an object sits where a directory of
/// `key` must go (`a` when writing `a/b`).
fn blocking_object(pool: &Pool, control: &mut Control, key: &str, what: &str) -> FtpResult<()> {
    let mut end = 0;
    while let Some(slash) = key[end..].find('/') {
        end += slash;
        let dir = &key[..end];
        if stat(&pool.config, control, dir).is_ok() {
            return Err(FtpError::AlreadyExists {
                what: what.to_owned(),
                detail: format!("{dir:?} is an object, so nothing can be stored below it"),
            });
        }
        end += 1;
    }
    Ok(())
}
