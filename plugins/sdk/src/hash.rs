//! Hashes of an object's content, for `store.hash` where the backend keeps
//! none and the plugin reads the object to compute one.

use md5::Digest;

use crate::{Error, Reader, Result};

/// The hash kinds this module computes, by their contract names.
pub const KINDS: &[&str] = &["md5", "sha1", "sha256"];

/// How many bytes to ask of the reader at a time.
const CHUNK: usize = 1 << 20;

/// Reads `reader` to its end and returns the `kind` hash of what it gave,
/// in lower-case hex. `kind` is one of [`KINDS`].
pub fn of_reader(reader: &mut impl Reader, kind: &str) -> Result<String> {
    match kind {
        "md5" => digest::<md5::Md5>(reader),
        "sha1" => digest::<sha1::Sha1>(reader),
        "sha256" => digest::<sha2::Sha256>(reader),
        other => Err(Error::unsupported(format!(
            "no {other:?} hash here; this plugin computes {}",
            KINDS.join(", ")
        ))),
    }
}

fn digest<D: Digest>(reader: &mut impl Reader) -> Result<String> {
    let mut hasher = D::new();
    loop {
        let chunk = reader.read(CHUNK)?;
        if chunk.is_empty() {
            break;
        }
        hasher.update(&chunk);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
