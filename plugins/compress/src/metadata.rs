//! The metadata object rclone's compress keeps beside each data object:
//! compact JSON with Go's field names, in Go's order, no trailing newline.
//! rclone 1.72 renamed `CompressionMetadata` to `CompressionMetadataGzip`
//! and added `CompressionMetadataZstd`; both names are read, the new one
//! written.

use serde::{Deserialize, Serialize};

use crate::names::Mode;

/// rclone's `ObjectMetadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(rename = "Mode")]
    pub mode: i64,
    /// The content's size, uncompressed.
    #[serde(rename = "Size")]
    pub size: i64,
    /// The lower-case hex MD5 of the content, uncompressed.
    #[serde(rename = "MD5")]
    pub md5: String,
    #[serde(rename = "MimeType")]
    pub mime_type: String,
    #[serde(
        rename = "CompressionMetadataGzip",
        alias = "CompressionMetadata",
        default
    )]
    pub gzip: Option<Blocks>,
    #[serde(rename = "CompressionMetadataZstd", default)]
    pub zstd: Option<Blocks>,
}

/// Where the blocks of a compressed data object are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Blocks {
    /// Content bytes per block (1 MiB); 0 when stored as it is.
    #[serde(rename = "BlockSize")]
    pub block_size: u64,
    #[serde(rename = "Size")]
    pub size: i64,
    /// gzip: the header's length, then each block's compressed length.
    #[serde(rename = "BlockData")]
    pub block_data: Option<Vec<u32>>,
}

impl Metadata {
    /// How the data object holds the content, or why it cannot be read.
    pub fn mode(&self) -> Result<Mode, String> {
        match self.mode {
            0 => Ok(Mode::Stored),
            2 => Ok(Mode::Gzip),
            4 => Ok(Mode::Zstd),
            other => Err(format!(
                "its metadata names mode {other}, which rclone never writes"
            )),
        }
    }

    /// The content's size, checked.
    pub fn content_size(&self) -> Result<u64, String> {
        u64::try_from(self.size).map_err(|_| format!("its metadata says size {}", self.size))
    }

    /// The gzip block index, checked against the content size: block `i`
    /// spans `starts[i]..starts[i + 1]` of the data object.
    pub fn block_starts(&self) -> Result<(u64, Vec<u64>), String> {
        let blocks = self
            .gzip
            .as_ref()
            .ok_or("its metadata has no gzip block index")?;
        let data = blocks.block_data.as_deref().unwrap_or(&[]);
        let size = self.content_size()?;
        let wanted = if blocks.block_size == 0 {
            0
        } else {
            size.div_ceil(blocks.block_size).max(1) as usize + 1
        };
        if blocks.block_size == 0 || data.len() < wanted {
            return Err(format!(
                "its metadata's gzip block index is damaged (block size {}, {} entries for {size} \
                 bytes)",
                blocks.block_size,
                data.len()
            ));
        }
        let mut starts = Vec::with_capacity(data.len());
        let mut at = 0u64;
        for length in data {
            at += u64::from(*length);
            starts.push(at);
        }
        Ok((blocks.block_size, starts))
    }

    /// The JSON rclone writes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("metadata serialises")
    }

    /// Reads rclone's JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("its metadata is not rclone's JSON: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_json_as_rclone_does() {
        let meta = Metadata {
            mode: 2,
            size: 1234,
            md5: "5d2fb8fe507003ca06c34f37549fb88d".into(),
            mime_type: "text/plain; charset=utf-8".into(),
            gzip: Some(Blocks {
                block_size: 1048576,
                size: 1234,
                block_data: Some(vec![10, 64]),
            }),
            zstd: None,
        };
        assert_eq!(
            String::from_utf8(meta.to_json()).unwrap(),
            r#"{"Mode":2,"Size":1234,"MD5":"5d2fb8fe507003ca06c34f37549fb88d","MimeType":"text/plain; charset=utf-8","CompressionMetadataGzip":{"BlockSize":1048576,"Size":1234,"BlockData":[10,64]},"CompressionMetadataZstd":null}"#
        );
        let stored = Metadata {
            mode: 0,
            gzip: Some(Blocks::default()),
            ..meta
        };
        assert!(String::from_utf8(stored.to_json())
            .unwrap()
            .ends_with(r#""CompressionMetadataGzip":{"BlockSize":0,"Size":0,"BlockData":null},"CompressionMetadataZstd":null}"#));
    }

    #[test]
    fn reads_the_old_key_and_checks_the_index() {
        let old = br#"{"Mode":2,"Size":2621440,"MD5":"x","MimeType":"y","CompressionMetadata":{"BlockSize":1048576,"Size":2621440,"BlockData":[10,4394,4394,2364]}}"#;
        let meta = Metadata::from_json(old).unwrap();
        assert_eq!(meta.mode(), Ok(Mode::Gzip));
        let (block, starts) = meta.block_starts().unwrap();
        assert_eq!(block, 1048576);
        assert_eq!(starts, [10, 4404, 8798, 11162]);
        let short = br#"{"Mode":2,"Size":2621440,"MD5":"x","MimeType":"y","CompressionMetadataGzip":{"BlockSize":1048576,"Size":2621440,"BlockData":[10,4394]}}"#;
        assert!(Metadata::from_json(short)
            .unwrap()
            .block_starts()
            .unwrap_err()
            .contains("damaged"));
        assert!(Metadata::from_json(b"{not json").is_err());
    }
}
