//! Checking that what arrived is what was sent, with the hashes the
//! stores declare (contract 0.3, `store.describe`): an etag that is the
//! MD5 of the content, or S3's multipart form of it (the MD5 of the parts'
//! MD5s and `-N`), or a named hash (SHA-256, Dropbox's content hash: the
//! SHA-256 of the SHA-256 of each 4 MiB block). The hashes are computed
//! from the bytes as they stream by. No plugin is known here by name.

use sha2::{Digest as _, Sha256};
use wharf::EtagKind;
use wharf_md5::Md5;
use xxhash_rust::xxh3::Xxh3;

/// A hash the host computes from the bytes, and how an etag holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The MD5 of the content; an object of more than `part_size` bytes
    /// was written in parts of `part_size` and has S3's multipart form
    /// (`u64::MAX`: never in parts).
    Md5 { part_size: u64 },
    /// The SHA-256 of the content.
    Sha256,
    /// Dropbox's content hash.
    Dropbox,
    /// XXH3's 128-bit hash (rclone's `xxh128`): no defence against
    /// someone forging a collision, but as sure as the others to catch a
    /// corrupted copy, for a tenth of their CPU.
    Xxh128,
}

const DROPBOX_BLOCK: u64 = 4 << 20;

/// Hash kinds the host computes, by their contract names, in the order it
/// prefers them for `check`: the cheapest first, since `check` reads and
/// hashes every object of both sides (MD5 of 2 x 125 MiB is about 0.4 s
/// of CPU, XXH3 a few hundredths).
pub(crate) const COMPUTED: &[&str] = &["xxh128", "md5", "sha256", "dropbox"];

impl Kind {
    /// What a store's etags are, from its declaration: `None` when they
    /// say nothing the host can check.
    pub fn of_etag(etag: &EtagKind) -> Option<Kind> {
        match etag {
            EtagKind::Opaque => None,
            EtagKind::Md5 => Some(Kind::Md5 {
                part_size: u64::MAX,
            }),
            EtagKind::MultipartMd5(part_size) => Some(Kind::Md5 {
                part_size: *part_size,
            }),
            EtagKind::Hash(name) => Kind::named(name),
        }
    }

    /// The kind of the contract's hash name, if the host computes it.
    pub fn named(name: &str) -> Option<Kind> {
        match name {
            "md5" => Some(Kind::Md5 {
                part_size: u64::MAX,
            }),
            "sha256" => Some(Kind::Sha256),
            "dropbox" => Some(Kind::Dropbox),
            "xxh128" => Some(Kind::Xxh128),
            _ => None,
        }
    }

    /// The hash's name, as events and reports give it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Md5 { .. } => "md5",
            Kind::Sha256 => "sha256",
            Kind::Dropbox => "dropbox content hash",
            Kind::Xxh128 => "xxh128",
        }
    }

    /// Whether two kinds are the same hash (whatever their part sizes).
    pub fn same_hash(self, other: Kind) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }

    /// Whether an object of `size` bytes has the multipart form.
    pub fn multipart(self, size: u64) -> Option<bool> {
        match self {
            Kind::Md5 { part_size } => Some(size > part_size),
            Kind::Sha256 | Kind::Dropbox | Kind::Xxh128 => None,
        }
    }
}

/// Hashes one stream for the kinds asked for.
#[derive(Default)]
pub(crate) struct Hasher {
    md5: Option<Md5Parts>,
    sha256: Option<Sha256>,
    dropbox: Option<Blocks<Sha256>>,
    xxh128: Option<Box<Xxh3>>,
}

/// MD5 of the whole content (a one-part upload's ETag) and of each part
/// (a multipart one's), each only where it may be needed: hashing costs
/// CPU that a 2-core machine also needs for the transfer.
struct Md5Parts {
    whole: Option<Md5>,
    parts: Option<Blocks<Md5>>,
}

/// A hash computed in pieces, as [`Blocks`] needs it.
trait BlockHash: Default {
    fn add(&mut self, bytes: &[u8]);
    fn end(self) -> Vec<u8>;
}

impl BlockHash for Md5 {
    fn add(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
    fn end(self) -> Vec<u8> {
        self.finalize().to_vec()
    }
}

impl BlockHash for Sha256 {
    fn add(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
    fn end(self) -> Vec<u8> {
        self.finalize().to_vec()
    }
}

/// A hash of each `size`-byte block, and of the list of those hashes.
struct Blocks<D: BlockHash> {
    size: u64,
    current: D,
    in_current: u64,
    hashes: Vec<u8>,
    count: u64,
}

impl<D: BlockHash> Blocks<D> {
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
            self.current.add(&bytes[..n]);
            self.in_current += n as u64;
            bytes = &bytes[n..];
            if self.in_current == self.size {
                self.end_block();
            }
        }
    }

    fn end_block(&mut self) {
        let done = std::mem::take(&mut self.current).end();
        self.hashes.extend_from_slice(&done);
        self.in_current = 0;
        self.count += 1;
    }

    /// The hash of the block hashes, and how many blocks there were.
    fn finish(mut self) -> (String, u64) {
        if self.in_current > 0 {
            self.end_block();
        }
        let mut list = D::default();
        list.add(&self.hashes);
        (hex(&list.end()), self.count)
    }
}

impl Hasher {
    /// A hasher for every kind in `kinds`, computing both MD5 forms.
    #[cfg(test)]
    pub fn for_kinds(kinds: &[Kind]) -> Self {
        let mut hasher = Hasher::default();
        for kind in kinds {
            hasher.add(*kind, None);
        }
        hasher
    }

    /// Adds what checking a hash of `kind` needs. For MD5, `multipart`
    /// says which form the tag has or will have (`None`: both).
    pub fn add(&mut self, kind: Kind, multipart: Option<bool>) {
        match kind {
            Kind::Md5 { part_size } => {
                let md5 = self.md5.get_or_insert(Md5Parts {
                    whole: None,
                    parts: None,
                });
                if multipart != Some(true) && md5.whole.is_none() {
                    md5.whole = Some(Md5::new());
                }
                let may_have_parts = part_size != u64::MAX && multipart != Some(false);
                if may_have_parts && md5.parts.is_none() {
                    md5.parts = Some(Blocks::new(part_size));
                }
            }
            Kind::Sha256 => self.sha256 = Some(Sha256::new()),
            Kind::Dropbox => self.dropbox = Some(Blocks::new(DROPBOX_BLOCK)),
            Kind::Xxh128 => self.xxh128 = Some(Box::default()),
        }
    }

    /// Whether it computes nothing.
    pub fn is_empty(&self) -> bool {
        self.md5.is_none()
            && self.sha256.is_none()
            && self.dropbox.is_none()
            && self.xxh128.is_none()
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
        if let Some(sha256) = &mut self.sha256 {
            sha256.update(bytes);
        }
        if let Some(dropbox) = &mut self.dropbox {
            dropbox.update(bytes);
        }
        if let Some(xxh128) = &mut self.xxh128 {
            xxh128.update(bytes);
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
            sha256: self.sha256.map(|s| hex(&s.finalize())),
            dropbox: self.dropbox.map(|d| d.finish().0),
            xxh128: self.xxh128.map(|x| format!("{:032x}", x.digest128())),
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
    sha256: Option<String>,
    dropbox: Option<String>,
    xxh128: Option<String>,
}

/// What checking an etag against the hashes found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// It matches.
    Same,
    /// It does not: the content differs.
    Different { expected: String, got: String },
    /// Nothing to compare it with (another part size, an encrypted
    /// object's ETag, a hash that was not computed).
    Unknown,
}

impl Hashes {
    /// Checks `tag`, a hash or etag of `kind`.
    pub fn check(&self, kind: Kind, tag: &str) -> Check {
        let tag = tag.trim_matches('"').to_ascii_lowercase();
        let compare = |ours: &str| {
            if ours == tag {
                Check::Same
            } else {
                Check::Different {
                    expected: ours.to_owned(),
                    got: tag.clone(),
                }
            }
        };
        match kind {
            Kind::Md5 { .. } => {
                let Some((whole, parts, count)) = &self.md5 else {
                    return Check::Unknown;
                };
                match (tag.split_once('-'), whole, parts) {
                    // Multipart: comparable only if it was cut into parts
                    // of the size we hashed with.
                    (Some((_, n)), _, Some(parts)) if n.parse() == Ok(*count) => {
                        compare(&format!("{parts}-{count}"))
                    }
                    (None, Some(whole), _) if tag.len() == 32 => compare(whole),
                    _ => Check::Unknown,
                }
            }
            Kind::Sha256 => self.sha256.as_deref().map_or(Check::Unknown, compare),
            Kind::Dropbox => self.dropbox.as_deref().map_or(Check::Unknown, compare),
            Kind::Xxh128 => self.xxh128.as_deref().map_or(Check::Unknown, compare),
        }
    }

    /// The hash of `kind` in its plain form (MD5 of the whole content),
    /// if it was computed.
    pub fn plain(&self, kind: Kind) -> Option<String> {
        match kind {
            Kind::Md5 { .. } => self.md5.as_ref().and_then(|(whole, _, _)| whole.clone()),
            Kind::Sha256 => self.sha256.clone(),
            Kind::Dropbox => self.dropbox.clone(),
            Kind::Xxh128 => self.xxh128.clone(),
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
    fn md5_etags_one_part_and_multipart() {
        let kind = Kind::of_etag(&EtagKind::MultipartMd5(5 << 20)).unwrap();
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
            parts.extend_from_slice(&wharf_md5::digest(part));
        }
        let etag = format!("{}-3", hex(&wharf_md5::digest(&parts)));
        assert_eq!(big.check(kind, &etag), Check::Same);
        // Another part size: nothing to say.
        assert_eq!(
            big.check(kind, "0123456789abcdef0123456789abcdef-2"),
            Check::Unknown
        );
    }

    #[test]
    fn dropbox_content_hash_and_sha256() {
        // The example from Dropbox's content-hash documentation is a file;
        // here two blocks by construction.
        let data = vec![9u8; (4 << 20) + 3];
        let mut outer = Sha256::new();
        outer.update(Sha256::digest(&data[..4 << 20]));
        outer.update(Sha256::digest(&data[4 << 20..]));
        let expected = hex(&outer.finalize());
        let kind = Kind::of_etag(&EtagKind::Hash("dropbox".into())).unwrap();
        let got = hashes(&data, &[kind, Kind::Sha256]);
        assert_eq!(got.check(kind, &expected), Check::Same);
        assert_eq!(
            got.check(Kind::Sha256, &hex(&Sha256::digest(&data))),
            Check::Same
        );
        assert_eq!(Kind::of_etag(&EtagKind::Opaque), None);
        // XXH3-128 of the empty input and of "a", as xxhsum -H2 prints them.
        let xxh = Kind::named("xxh128").unwrap();
        assert_eq!(
            hashes(b"", &[xxh]).plain(xxh).unwrap(),
            "99aa06d3014798d86001c324468d497f"
        );
        assert_eq!(
            hashes(b"a", &[xxh]).plain(xxh).unwrap(),
            "a96faf705af16834e6c632b61e964e1f"
        );
        assert_eq!(Kind::named("whirlpool"), None);
    }
}
