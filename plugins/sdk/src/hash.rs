//! Hashes of an object's content, for `store.hash` where the backend keeps
//! none and the plugin reads the object to compute one.

use sha2::Digest;

use crate::{Error, Reader, Result};

/// The hash kinds this module computes, by their contract names. `xxh128`
/// (XXH3's 128-bit hash, as rclone names it) is many times cheaper than
/// the others: a host that computes it too can compare contents for a
/// fraction of the CPU, where no one needs a cryptographic hash.
pub const KINDS: &[&str] = &["md5", "sha1", "sha256", "xxh128"];

/// How many bytes to ask of the reader at a time.
const CHUNK: usize = 1 << 20;

/// Reads `reader` to its end and returns the `kind` hash of what it gave,
/// in lower-case hex. `kind` is one of [`KINDS`].
pub fn of_reader(reader: &mut impl Reader, kind: &str) -> Result<String> {
    match kind {
        "md5" => {
            let mut md5 = wharf_md5::Md5::new();
            read_all(reader, |chunk| md5.update(chunk))?;
            Ok(hex(&md5.finalize()))
        }
        "sha1" => digest::<sha1::Sha1>(reader),
        "sha256" => digest::<sha2::Sha256>(reader),
        "xxh128" => xxh128(reader),
        other => Err(Error::unsupported(format!(
            "no {other:?} hash here; this plugin computes {}",
            KINDS.join(", ")
        ))),
    }
}

/// XXH3-128 in its canonical form: the high 64 bits, then the low, each
/// big-endian (as `xxhsum -H2` and rclone print it).
fn xxh128(reader: &mut impl Reader) -> Result<String> {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    read_all(reader, |chunk| hasher.update(chunk))?;
    Ok(format!("{:032x}", hasher.digest128()))
}

fn digest<D: Digest>(reader: &mut impl Reader) -> Result<String> {
    let mut hasher = D::new();
    read_all(reader, |chunk| hasher.update(chunk))?;
    Ok(hex(&hasher.finalize()))
}

/// Feeds everything `reader` gives to `each`, a chunk at a time.
fn read_all(reader: &mut impl Reader, mut each: impl FnMut(&[u8])) -> Result<()> {
    loop {
        let chunk = reader.read(CHUNK)?;
        if chunk.is_empty() {
            return Ok(());
        }
        each(&chunk);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
