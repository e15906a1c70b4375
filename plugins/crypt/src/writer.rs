//! Writing through crypt: a fresh random nonce per object, the header,
//! then the content sealed 64 KiB at a time and sent below in batches.
//! Nothing is visible below until the write below finishes, so a failed
//! or aborted write leaves nothing, as in every layer.

use wharf_plugin::below::{self, BelowWriter};
use wharf_plugin::{ObjectMeta, Result, WriteOptions, Writer};

use crate::content::{self, Blocks, Nonce, BLOCK, BLOCK_DATA};

/// How many sealed blocks go below in one write: under the 1 MiB a chunk
/// may hold.
const BATCH: usize = 8;

/// A write in progress.
pub struct CryptWriter {
    key: String,
    below: BelowWriter,
    blocks: Blocks,
    pending: Vec<u8>,
    sealed: Vec<u8>,
    size: u64,
}

impl CryptWriter {
    /// Starts writing `key`, stored below as `name`.
    pub fn create(
        key: &str,
        name: &str,
        data_key: &[u8; 32],
        options: &WriteOptions,
    ) -> Result<Self> {
        let random = wasip2::random::random::get_random_bytes(24);
        let nonce = Nonce(random.try_into().expect("24 random bytes"));
        // What the writer asks to store besides the bytes is not encrypted
        // below, so none of it is passed on.
        let below = below::write(
            name,
            &WriteOptions {
                content_type: None,
                metadata: Vec::new(),
                size_hint: options.size_hint.map(content::encrypted_size),
            },
        )?;
        below.write(&content::header(&nonce))?;
        Ok(CryptWriter {
            key: key.to_owned(),
            below,
            blocks: Blocks::new(data_key, nonce, 0),
            pending: Vec::with_capacity(BLOCK_DATA),
            sealed: Vec::with_capacity(BATCH * BLOCK),
            size: 0,
        })
    }

    fn flush(&mut self) -> Result<()> {
        if !self.sealed.is_empty() {
            self.below.write(&self.sealed)?;
            self.sealed.clear();
        }
        Ok(())
    }

    /// Seals one block of plaintext, sending the batch below when full.
    fn seal(&mut self, plain: &[u8]) -> Result<()> {
        self.blocks.seal(plain, &mut self.sealed)?;
        if self.sealed.len() >= BATCH * BLOCK {
            self.flush()?;
        }
        Ok(())
    }
}

impl Writer for CryptWriter {
    fn write(&mut self, chunk: Vec<u8>) -> Result<()> {
        self.size += chunk.len() as u64;
        let mut rest = &chunk[..];
        // A block begun by an earlier chunk is completed first; whole
        // blocks are then sealed from the chunk itself, and what is left
        // waits for the next chunk.
        if !self.pending.is_empty() {
            let take = (BLOCK_DATA - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == BLOCK_DATA {
                let pending = std::mem::take(&mut self.pending);
                self.seal(&pending)?;
                // Its buffer is kept for the next partial block.
                self.pending = pending;
                self.pending.clear();
            }
        }
        while rest.len() >= BLOCK_DATA {
            self.seal(&rest[..BLOCK_DATA])?;
            rest = &rest[BLOCK_DATA..];
        }
        self.pending.extend_from_slice(rest);
        Ok(())
    }

    fn finish(mut self) -> Result<ObjectMeta> {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.seal(&pending)?;
        }
        self.flush()?;
        let mut meta = self.below.finish()?;
        meta.key = self.key;
        meta.size = self.size;
        meta.etag = None;
        meta.content_type = None;
        meta.metadata = Vec::new();
        Ok(meta)
    }

    fn abort(self) -> Result<()> {
        self.below.abort()
    }
}
