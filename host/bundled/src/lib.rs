//! The first-party plugins, compiled to WebAssembly components by this
//! crate's build script and embedded here as bytes.
#![deny(missing_docs)]

// The components (`FS`, `S3`, …), `ALL` (each by the name a configuration
// uses) and `SHA256` (the hash of each, taken when it was built).
include!(concat!(env!("OUT_DIR"), "/plugins.rs"));
