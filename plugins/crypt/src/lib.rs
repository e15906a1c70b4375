//! Wharf's encryption overlay: stores objects encrypted in the remote
//! below it, in rclone's crypt format byte for byte, so a crypt remote
//! rclone wrote reads here and the other way round. See `docs.md`.

pub mod content;
pub mod eme;
pub mod encoding;
pub mod keys;
pub mod names;
pub mod obscure;
