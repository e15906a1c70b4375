//! The first-party plugins, compiled to WebAssembly components by this
//! crate's build script and embedded here as bytes.
#![deny(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/plugins.rs"));

/// Every bundled plugin as (name, component bytes); the name is the one a
/// configuration uses in `plugin = "…"`.
pub const ALL: &[(&str, &[u8])] = &[
    ("fs", FS),
    ("s3", S3),
    ("ftp", FTP),
    ("dropbox", DROPBOX),
    ("crypt", CRYPT),
    ("compress", COMPRESS),
];
