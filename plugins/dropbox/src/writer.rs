//! Writes: one `files/upload` for objects up to `chunk_size`, an upload
//! session (`start`, `append_v2`, `finish`) above it, one chunk in memory
//! at a time. Nothing is visible before the last call, and a session that
//! is never finished commits nothing (Dropbox drops it after a week).
//! What Dropbox stored is checked against the content hash of what was
//! sent.

use std::rc::Rc;

use serde::Deserialize;
use serde_json::{json, Value};
use wharf_plugin::{ObjectMeta, Result, Writer};

use crate::core::DropboxCore;
use crate::error::{DropboxError, DropboxResult};
use crate::meta::{object_meta, ContentHasher, FileMeta};

pub struct DropboxWriter {
    core: Rc<DropboxCore>,
    key: String,
    /// Bytes not sent yet: less than one chunk between calls.
    pending: Vec<u8>,
    session: Option<Session>,
    hasher: ContentHasher,
    written: u64,
    /// The object's size, if the caller knew it.
    size_hint: Option<u64>,
    /// A write-new: the commit adds, and a file at the key is a conflict.
    only_new: bool,
}

struct Session {
    id: String,
    /// Bytes Dropbox holds in the session.
    offset: u64,
}

#[derive(Deserialize)]
struct Started {
    session_id: String,
}

impl DropboxWriter {
    pub fn new(core: Rc<DropboxCore>, key: &str, size_hint: Option<u64>, only_new: bool) -> Self {
        DropboxWriter {
            core,
            key: key.to_owned(),
            pending: Vec::new(),
            session: None,
            hasher: ContentHasher::default(),
            written: 0,
            size_hint,
            only_new,
        }
    }

    fn what(&self) -> String {
        format!("write {:?}", self.key)
    }

    /// Sends the first `chunk_size` pending bytes into the session.
    fn send_chunk(&mut self) -> DropboxResult<()> {
        let size = self.core.config.chunk_size;
        let what = self.what();
        let chunk = &self.pending[..size];
        match &mut self.session {
            None => {
                let started: Started = self.core.upload(
                    &what,
                    "files/upload_session/start",
                    &json!({ "close": false }),
                    chunk,
                )?;
                self.session = Some(Session {
                    id: started.session_id,
                    offset: size as u64,
                });
            }
            Some(session) => {
                let arg = json!({
                    "cursor": { "session_id": session.id, "offset": session.offset },
                    "close": false,
                });
                let result: DropboxResult<Value> =
                    self.core
                        .upload(&what, "files/upload_session/append_v2", &arg, chunk);
                match result {
                    Ok(_) => {}
                    // A retried append whose first try arrived: Dropbox
                    // already holds this chunk.
                    Err(DropboxError::Api { error, .. })
                        if error["correct_offset"].as_u64()
                            == Some(session.offset + size as u64) => {}
                    Err(e) => return Err(e),
                }
                session.offset += size as u64;
            }
        }
        self.pending.drain(..size);
        Ok(())
    }

    fn commit(mut self) -> DropboxResult<ObjectMeta> {
        let what = self.what();
        let path = self.core.config.path(&self.key);
        // Overwrite, as the contract's write does; a folder in the way is a
        // conflict (already-exists). A write-new adds, and with
        // strict_conflict any file at the path is a conflict, even one with
        // the same content: Dropbox checks as it commits.
        let commit = if self.only_new {
            json!({ "path": path, "mode": "add", "autorename": false, "strict_conflict": true,
                    "mute": true })
        } else {
            json!({ "path": path, "mode": "overwrite", "autorename": false, "mute": true })
        };
        let file: FileMeta = match &self.session {
            None => self
                .core
                .upload(&what, "files/upload", &commit, &self.pending)?,
            Some(session) => {
                let arg = json!({
                    "cursor": { "session_id": session.id, "offset": session.offset },
                    "commit": commit,
                });
                self.core
                    .upload(&what, "files/upload_session/finish", &arg, &self.pending)?
            }
        };
        self.pending = Vec::new();
        let sent = std::mem::take(&mut self.hasher).finish();
        let stored = file.content_hash.clone().unwrap_or_default();
        if file.size != self.written || stored != sent {
            // Take the bad copy away again, unless someone replaced it.
            let arg = json!({ "path": path, "parent_rev": file.rev });
            let _: DropboxResult<Value> = self.core.rpc(&what, "files/delete_v2", &arg);
            return Err(DropboxError::HashMismatch {
                what,
                sent: format!("{sent}, {} bytes", self.written),
                stored: format!("{stored}, {} bytes", file.size),
            });
        }
        Ok(object_meta(&self.key, &file))
    }
}

impl Writer for DropboxWriter {
    fn write(&mut self, chunk: Vec<u8>) -> Result<()> {
        self.hasher.update(&chunk);
        self.written += chunk.len() as u64;
        if self.pending.capacity() == 0 {
            // One allocation for the whole upload: a chunk and the write
            // that completes it, or less when the caller said the object is
            // small. Growing by doubling would hold up to twice the chunk
            // size (and WebAssembly memory never shrinks).
            let chunk_size = self.core.config.chunk_size;
            let expected = self.size_hint.map_or(chunk_size, |hint| {
                (hint.min(chunk_size as u64) as usize).max(chunk.len())
            });
            self.pending
                .reserve_exact(expected + chunk.len().max(1 << 20));
        }
        self.pending.extend_from_slice(&chunk);
        // A full chunk waits until a byte beyond it arrives: if the object
        // ends there, `finish` sends it (one call for a small object, no
        // empty last call for a large one).
        while self.pending.len() > self.core.config.chunk_size {
            self.send_chunk()?;
        }
        Ok(())
    }

    fn finish(self) -> Result<ObjectMeta> {
        Ok(self.commit()?)
    }

    fn abort(self) -> Result<()> {
        // Nothing is committed before `finish`; an open session expires.
        Ok(())
    }
}
