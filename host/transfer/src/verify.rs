//! Checking that what arrived is what was sent, with the hashes backends
//! report as their etag: S3's ETag (the MD5 of the content for a one-part
//! upload; for a multipart one, the MD5 of the parts' MD5s and `-N`) and
//! Dropbox's content hash (SHA-256 of the SHA-256 of each 4 MiB block).
//! The hashes are computed from the bytes as they stream by.

use md5::{Digest as _, Md5};
use sha2::Sha256;
use wharf::Remote;

/// How a backend's etag relates to the content, where Wharf knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// S3: uploads of more than `part_size` bytes are multipart.
    S3 {
        part_size: u64,
    },
    Dropbox,
}

const DROPBOX_BLOCK: u64 = 4 << 20;
const S3_DEFAULT_PART: u64 = 5 << 20;

impl Kind {
    /// The kind of `remote`'s etags, from its plugin and options.
    pub fn of(remote: &Remote) -> Option<Kind> {
        match remote.plugin().info().name.as_str() {
            "s3" => Some(Kind::S3 {
                part_size: remote
                    .options()
                    .iter()
                    .into_iter()
                    .find(|(k, _)| k == "part_size")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(S3_DEFAULT_PART),
            }),
            "dropbox" => Some(Kind::Dropbox),
            _ => None,
        }
    }
}

impl Kind {
    /// The hash's name, as events and reports give it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::S3 { .. } => "md5",
            Kind::Dropbox => "dropbox content hash",
        }
    }
}

/// Hashes one stream for the kinds asked for.
#[derive(Default)]
pub(crate) struct Hasher {
    md5: Option<Md5Parts>,
    dropbox: Option<Blocks<Sha256>>,
}

/// MD5 of the whole content (a one-part upload's ETag) and of each part
/// (a multipart one's), each only where it may be needed: hashing costs
/// CPU that a 2-core machine also needs for the transfer.
struct Md5Parts {
    whole: Option<Md5>,
    parts: Option<Blocks<Md5>>,
}

/// A hash of each `size`-byte block, and of the list of those hashes.
struct Blocks<D: md5::Digest + Default> {
    size: u64,
    current: D,
    in_current: u64,
    hashes: Vec<u8>,
    count: u64,
}

impl<D: md5::Digest + Default> Blocks<D> {
    fn new(size: u64) -> Self {
        Blocks {
            size,
            current: D::default(),
            in_current: 0,
            hashes: Vec::new(),
            count: 0,
        }
    }

    fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let n = bytes.len().min((self.size - self.in_current) as usize);
            self.current.update(&bytes[..n]);
            self.in_current += n as u64;
            bytes = &bytes[n..];
            if self.in_current == self.size {
                self.end_block();
            }
        }
    }

    fn end_block(&mut self) {
        let done = std::mem::take(&mut self.current).finalize();
        self.hashes.extend_from_slice(&done);
        self.in_current = 0;
        self.count += 1;
    }

    /// The hash of the block hashes, and how many blocks there were.
    fn finish(mut self) -> (String, u64) {
        if self.in_current > 0 {
            self.end_block();
        }
        (hex(&D::digest(&self.hashes)), self.count)
    }
}

impl Hasher {
    /// A hasher for every kind in `kinds`, computing both S3 forms.
    #[cfg(test)]
    pub fn for_kinds(kinds: &[Kind]) -> Self {
        let mut hasher = Hasher::default();
        for kind in kinds {
            hasher.add(*kind, None);
        }
        hasher
    }

    /// Adds what checking a tag of `kind` needs. For S3, `multipart` says
    /// which form the tag has or will have (`None`: both).
    pub fn add(&mut self, kind: Kind, multipart: Option<bool>) {
        match kind {
            Kind::S3 { part_size } => {
                let md5 = self.md5.get_or_insert(Md5Parts {
                    whole: None,
                    parts: None,
                });
                if multipart != Some(true) && md5.whole.is_none() {
                    md5.whole = Some(Md5::new());
                }
                if multipart != Some(false) && md5.parts.is_none() {
                    md5.parts = Some(Blocks::new(part_size));
                }
            }
            Kind::Dropbox => self.dropbox = Some(Blocks::new(DROPBOX_BLOCK)),
        }
    }

    /// Whether it computes nothing.
    pub fn is_empty(&self) -> bool {
        self.md5.is_none() && self.dropbox.is_none()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        if let Some(md5) = &mut self.md5 {
            if let Some(whole) = &mut md5.whole {
                whole.update(bytes);
            }
            if let Some(parts) = &mut md5.parts {
                parts.update(bytes);
            }
        }
        if let Some(dropbox) = &mut self.dropbox {
            dropbox.update(bytes);
        }
    }

    pub fn finish(self) -> Hashes {
        Hashes {
            md5: self.md5.map(|m| {
                let (parts, count) = match m.parts {
                    Some(parts) => {
                        let (hash, count) = parts.finish();
                        (Some(hash), count)
                    }
                    None => (None, 0),
                };
                (m.whole.map(|w| hex(&w.finalize())), parts, count)
            }),
            dropbox: self.dropbox.map(|d| d.finish().0),
        }
    }
}

/// Hashing beside the copy: large objects are hashed on a thread of their
/// own, so the hash does not hold up the transfer (a 1 GiB MD5 is seconds
/// of CPU); small ones inline, where a thread would cost more than it saves.
pub(crate) enum HashPipe {
    Inline(Box<Hasher>),
    Thread {
        chunks: tokio::sync::mpsc::Sender<Vec<u8>>,
        done: std::thread::JoinHandle<Hashes>,
    },
}

/// Objects above this size are hashed on their own thread.
const THREAD_ABOVE: u64 = 4 << 20;

impl HashPipe {
    pub fn new(hasher: Hasher, size: u64) -> Self {
        if hasher.is_empty() || size <= THREAD_ABOVE {
            return HashPipe::Inline(Box::new(hasher));
        }
        // A few chunks of slack; the copy waits if hashing falls behind.
        let (chunks, mut queue) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
        let done = std::thread::spawn(move || {
            let mut hasher = hasher;
            while let Some(chunk) = queue.blocking_recv() {
                hasher.update(&chunk);
            }
            hasher.finish()
        });
        HashPipe::Thread { chunks, done }
    }

    /// Hashes `chunk` (after it has been written: it is given away).
    pub async fn update(&mut self, chunk: Vec<u8>) {
        match self {
            HashPipe::Inline(hasher) => hasher.update(&chunk),
            HashPipe::Thread { chunks, .. } => {
                let _ = chunks.send(chunk).await;
            }
        }
    }

    pub async fn finish(self) -> Hashes {
        match self {
            HashPipe::Inline(hasher) => hasher.finish(),
            HashPipe::Thread { chunks, done } => {
                drop(chunks);
                tokio::task::spawn_blocking(move || done.join().unwrap_or_default())
                    .await
                    .unwrap_or_default()
            }
        }
    }
}

/// What a stream hashed to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hashes {
    /// The content's MD5, the MD5 of its parts' MD5s, and the part count
    /// (each if it was computed).
    md5: Option<(Option<String>, Option<String>, u64)>,
    dropbox: Option<String>,
}

/// What checking an etag against the hashes found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// It matches.
    Same,
    /// It does not: the content differs.
    Different { expected: String, got: String },
    /// Nothing to compare it with (another part size, an encrypted
    /// object's ETag, a backend whose tags are not hashes).
    Unknown,
}

impl Hashes {
    /// The Dropbox content hash, if it was computed: a strong hash of the
    /// whole content, used to compare two streams.
    pub fn dropbox_hash(&self) -> String {
        self.dropbox.clone().unwrap_or_default()
    }

    /// Checks `etag`, a tag of a backend of `kind`.
    pub fn check(&self, kind: Kind, etag: &str) -> Check {
        let etag = etag.trim_matches('"').to_ascii_lowercase();
        let compare = |ours: &str| {
            if ours == etag {
                Check::Same
            } else {
                Check::Different {
                    expected: ours.to_owned(),
                    got: etag.clone(),
                }
            }
        };
        match kind {
            Kind::S3 { .. } => {
                let Some((whole, parts, count)) = &self.md5 else {
                    return Check::Unknown;
                };
                match (etag.split_once('-'), whole, parts) {
                    // Multipart: comparable only if it was cut into parts
                    // of the size we hashed with.
                    (Some((_, n)), _, Some(parts)) if n.parse() == Ok(*count) => {
                        compare(&format!("{parts}-{count}"))
                    }
                    (None, Some(whole), _) if etag.len() == 32 => compare(whole),
                    _ => Check::Unknown,
                }
            }
            Kind::Dropbox => match &self.dropbox {
                Some(ours) => compare(ours),
                None => Check::Unknown,
            },
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(data: &[u8], kinds: &[Kind]) -> Hashes {
        let mut hasher = Hasher::for_kinds(kinds);
        for piece in data.chunks(777_777) {
            hasher.update(piece);
        }
        hasher.finish()
    }

    #[test]
    fn s3_etags_one_part_and_multipart() {
        let kind = Kind::S3 { part_size: 5 << 20 };
        let small = hashes(b"hello", &[kind]);
        assert_eq!(
            small.check(kind, "\"5d41402abc4b2a76b9719d911017c592\""),
            Check::Same
        );
        assert!(matches!(
            small.check(kind, "00000000000000000000000000000000"),
            Check::Different { .. }
        ));

        let data = vec![1u8; (11 << 20) + 1];
        let big = hashes(&data, &[kind]);
        let mut parts = Vec::new();
        for part in data.chunks(5 << 20) {
            parts.extend_from_slice(&Md5::digest(part));
        }
        let etag = format!("{}-3", hex(&Md5::digest(&parts)));
        assert_eq!(big.check(kind, &etag), Check::Same);
        // Another part size: nothing to say.
        assert_eq!(
            big.check(kind, "0123456789abcdef0123456789abcdef-2"),
            Check::Unknown
        );
    }

    #[test]
    fn dropbox_content_hash() {
        // The example from Dropbox's content-hash documentation is a file;
        // here two blocks by construction.
        let data = vec![9u8; (4 << 20) + 3];
        let mut outer = Sha256::new();
        outer.update(Sha256::digest(&data[..4 << 20]));
        outer.update(Sha256::digest(&data[4 << 20..]));
        let expected = hex(&outer.finalize());
        assert_eq!(
            hashes(&data, &[Kind::Dropbox]).check(Kind::Dropbox, &expected),
            Check::Same
        );
    }
}
