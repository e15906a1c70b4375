//! Dropbox's metadata as it comes in JSON, what it becomes in the
//! contract, and Dropbox's content hash.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use wharf_plugin::{ObjectMeta, Timestamp};

use crate::config::BLOCK;

/// A file's metadata (`FileMetadata`; answers of uploads carry it bare,
/// listings and `get_metadata` tagged as [`Metadata::File`]).
#[derive(Debug, Clone, Deserialize)]
pub struct FileMeta {
    pub name: String,
    pub size: u64,
    pub rev: String,
    pub server_modified: String,
    pub content_hash: Option<String>,
}

/// A folder's metadata.
#[derive(Debug, Clone, Deserialize)]
pub struct FolderMeta {
    pub name: String,
}

/// Any entry, by its `.tag`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum Metadata {
    File(FileMeta),
    Folder(FolderMeta),
    Deleted {},
}

/// The answers that wrap one entry (`delete_v2`, `copy_v2`).
#[derive(Debug, Deserialize)]
pub struct Wrapped {
    pub metadata: Metadata,
}

/// One page of `list_folder`.
#[derive(Debug, Deserialize)]
pub struct ListPage {
    pub entries: Vec<Metadata>,
    pub cursor: String,
    pub has_more: bool,
}

/// The contract's metadata of `key`, stored as `file`.
pub fn object_meta(key: &str, file: &FileMeta) -> ObjectMeta {
    ObjectMeta {
        key: key.to_owned(),
        size: file.size,
        last_modified: parse_time(&file.server_modified),
        etag: file.content_hash.clone(),
        content_type: None,
        metadata: Vec::new(),
    }
}

/// `2026-11-24T12:33:34Z`, the only form Dropbox uses.
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let ymd = (d.next()??, d.next()??, d.next()??);
    let hms = (t.next()??, t.next()??, t.next()??);
    wharf_plugin::time::utc_timestamp(ymd, hms, 0)
}

/// Dropbox's `content_hash`: SHA-256 over the SHA-256 of each 4 MiB block,
/// computed as the bytes go by.
#[derive(Default)]
pub struct ContentHasher {
    overall: Sha256,
    block: Sha256,
    in_block: usize,
}

impl ContentHasher {
    pub fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let n = bytes.len().min(BLOCK - self.in_block);
            self.block.update(&bytes[..n]);
            self.in_block += n;
            bytes = &bytes[n..];
            if self.in_block == BLOCK {
                self.end_block();
            }
        }
    }

    fn end_block(&mut self) {
        let block = std::mem::take(&mut self.block).finalize();
        self.overall.update(block);
        self.in_block = 0;
    }

    pub fn finish(mut self) -> String {
        if self.in_block > 0 {
            self.end_block();
        }
        hex::encode(self.overall.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_of_blocks() {
        // Two blocks: the hash of the two block hashes.
        let data = vec![7u8; BLOCK + 10];
        let mut expected = Sha256::new();
        expected.update(Sha256::digest(&data[..BLOCK]));
        expected.update(Sha256::digest(&data[BLOCK..]));
        let mut hasher = ContentHasher::default();
        for piece in data.chunks(1_000_003) {
            hasher.update(piece);
        }
        assert_eq!(hasher.finish(), hex::encode(expected.finalize()));
    }

    #[test]
    fn times() {
        let t = parse_time("2026-11-24T12:33:34Z").unwrap();
        assert_eq!(t.seconds, 1_795_523_614);
        assert!(parse_time("yesterday").is_none());
    }
}
