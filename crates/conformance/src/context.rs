//! What a case works with: the remote, a disposable prefix, and helpers
//! that turn every failure into a message that says what was expected.

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wharf::{ByteRange, Capabilities, Entry, ErrorKind, ObjectMeta, Remote, WriteOptions};

/// The result of a case: `Err` holds what went wrong, for people.
pub type Check = Result<(), String>;

/// A case's view of the remote under test.
pub struct Ctx<'r> {
    /// The remote under test.
    pub remote: &'r Remote,
    /// What the plugin declares it can do.
    pub caps: Capabilities,
    prefix: String,
    counter: AtomicU64,
    page_set: tokio::sync::OnceCell<Result<PageSet, String>>,
}

/// More objects than one listing page holds (the host asks for
/// [`wharf::LIST_PAGE`] entries), written once per run and listed by every
/// case about paging: on a slow server the writes cost far more than the
/// listings.
#[derive(Debug, Clone)]
pub struct PageSet {
    /// The prefix they are all under.
    pub scope: String,
    /// Every key, in byte order.
    pub keys: Vec<String>,
    /// What a listing of `scope` with the delimiter `/` must give: the keys
    /// directly under it and each sub-prefix once, in byte order.
    pub folded: Vec<String>,
}

/// How many objects the page set puts directly under its prefix: more
/// than a page even with the delimiter folding the rest away.
const PAGE_SET_DIRECT: usize = 1050;

/// Sub-prefixes of the page set, chosen to sort before, between (either
/// side of the thousandth key) and after the keys directly under it.
const PAGE_SET_FOLDERS: [&str; 5] = [
    "a-dir/",
    "k00499-dir/",
    "k00999-dir/",
    "k01000-dir/",
    "z-dir/",
];

impl<'r> Ctx<'r> {
    pub(crate) fn new(remote: &'r Remote, caps: Capabilities) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let tag = hex::encode(&Sha256::digest(format!("{nanos}-{}", std::process::id()))[..4]);
        Ctx {
            remote,
            caps,
            prefix: format!("wharf-conformance-{tag}/"),
            counter: AtomicU64::new(0),
            page_set: tokio::sync::OnceCell::new(),
        }
    }

    /// The run's [`PageSet`], written on first use.
    pub async fn page_set(&self) -> Result<&PageSet, String> {
        self.page_set
            .get_or_init(|| self.write_page_set())
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    async fn write_page_set(&self) -> Result<PageSet, String> {
        let scope = self.scope("page");
        let mut keys = Vec::new();
        let mut folded = Vec::new();
        for i in 0..PAGE_SET_DIRECT {
            keys.push(format!("{scope}k{i:05}"));
        }
        folded.extend(keys.iter().cloned());
        for folder in PAGE_SET_FOLDERS {
            folded.push(format!("{scope}{folder}"));
            // Some deeper still, which fold into the same prefix.
            for j in 0..10 {
                let deeper = if j % 2 == 0 { "" } else { "deeper/" };
                keys.push(format!("{scope}{folder}{deeper}k{j}"));
            }
        }
        for key in &keys {
            self.put(key, b"").await?;
        }
        keys.sort();
        folded.sort();
        Ok(PageSet {
            scope,
            keys,
            folded,
        })
    }

    /// The disposable prefix every key of the run starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A fresh directory-like prefix under the run's prefix, for one case.
    pub fn scope(&self, name: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}{name}-{n}/", self.prefix)
    }

    /// Writes `data` at `key` in chunks of `chunk` bytes.
    pub async fn put_chunked(
        &self,
        key: &str,
        data: &[u8],
        chunk: usize,
        options: WriteOptions,
    ) -> Result<ObjectMeta, String> {
        let mut writer = self
            .remote
            .open_write(key, options)
            .await
            .map_err(|e| format!("write {key:?}: {e}"))?;
        for piece in data.chunks(chunk.max(1)) {
            writer
                .write(piece)
                .await
                .map_err(|e| format!("write {key:?}: {e}"))?;
        }
        writer
            .finish()
            .await
            .map_err(|e| format!("finish {key:?}: {e}"))
    }

    /// Writes `data` at `key`.
    pub async fn put(&self, key: &str, data: &[u8]) -> Result<ObjectMeta, String> {
        self.remote
            .put(key, data, WriteOptions::default())
            .await
            .map_err(|e| format!("put {key:?}: {e}"))
    }

    /// Reads all of `key` (or `range` of it).
    pub async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        self.remote
            .get(key, range, &mut out)
            .await
            .map_err(|e| format!("read {key:?}: {e}"))?;
        Ok(out)
    }

    /// Reads `key` and checks it holds exactly `want`.
    pub async fn expect_contents(&self, key: &str, want: &[u8]) -> Check {
        let got = self.get(key, None).await?;
        if got.len() != want.len() || sha256(&got) != sha256(want) {
            return Err(format!(
                "{key:?} holds {} bytes (sha256 {}), expected {} bytes (sha256 {})",
                got.len(),
                &sha256(&got)[..12],
                want.len(),
                &sha256(want)[..12]
            ));
        }
        Ok(())
    }

    /// Stats `key`.
    pub async fn stat(&self, key: &str) -> Result<ObjectMeta, String> {
        self.remote
            .stat(key)
            .await
            .map_err(|e| format!("stat {key:?}: {e}"))
    }

    /// The directories the remote is granted, and for an overlay those of
    /// the remotes below it.
    pub fn granted_directories(&self) -> Vec<&std::path::Path> {
        let mut directories = Vec::new();
        let mut remote = self.remote;
        loop {
            let grant = remote.grant();
            directories.extend(grant.directories.iter().map(|d| d.host_path.as_path()));
            match &grant.below {
                Some(below) => remote = &below.remote,
                None => return directories,
            }
        }
    }

    /// Every file and directory in [`Ctx::granted_directories`], as paths
    /// relative to the directory, with a trailing `/` on directories: what
    /// the plugin could still see, listed or not.
    pub fn granted_files(&self) -> Result<std::collections::BTreeSet<String>, String> {
        let mut found = std::collections::BTreeSet::new();
        for root in self.granted_directories() {
            let mut pending = vec![root.to_path_buf()];
            while let Some(at) = pending.pop() {
                let entries = std::fs::read_dir(&at)
                    .map_err(|e| format!("cannot list {}: {e}", at.display()))?;
                for entry in entries {
                    let entry = entry.map_err(|e| format!("cannot list {}: {e}", at.display()))?;
                    let path = entry.path();
                    let relative = path
                        .strip_prefix(root)
                        .unwrap_or(&path)
                        .to_string_lossy()
                        .into_owned();
                    if entry.file_type().is_ok_and(|t| t.is_dir()) {
                        found.insert(format!("{relative}/"));
                        pending.push(path);
                    } else {
                        found.insert(relative);
                    }
                }
            }
        }
        Ok(found)
    }

    /// Checks that there is no object at `key`.
    pub async fn expect_absent(&self, key: &str) -> Check {
        match self.remote.stat(key).await {
            Err(e) if *e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!(
                "stat {key:?} should be not-found, got {:?}: {e}",
                e.kind()
            )),
            Ok(meta) => Err(format!(
                "{key:?} should not exist, but stat found {} bytes",
                meta.size
            )),
        }
    }

    /// Every entry under `prefix`, page by page, with the page count.
    pub async fn list(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<(Vec<Entry>, usize), String> {
        let mut lister = self
            .remote
            .list(prefix, delimiter)
            .await
            .map_err(|e| format!("list {prefix:?}: {e}"))?;
        let mut all = Vec::new();
        let mut pages = 0;
        loop {
            let page = lister
                .next_page()
                .await
                .map_err(|e| format!("list {prefix:?}, page {}: {e}", pages + 1))?;
            if page.is_empty() {
                return Ok((all, pages));
            }
            pages += 1;
            all.extend(page);
        }
    }

    /// The keys (objects) and common prefixes under `prefix`, in listing
    /// order, each as text (`prefixes end with '/'`).
    pub async fn list_names(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<Vec<String>, String> {
        let (entries, _) = self.list(prefix, delimiter).await?;
        Ok(entries
            .into_iter()
            .map(|entry| match entry {
                Entry::Object(meta) => meta.key,
                Entry::CommonPrefix(p) => p,
            })
            .collect())
    }

    /// A second remote on the same plugin, with the same limits and the
    /// same extra network access (`allow_hosts`) and TLS trust, configured
    /// with `options` instead: for the cases that give a plugin a bad
    /// configuration.
    pub fn reconfigured(&self, options: Vec<(String, String)>) -> wharf::Result<Remote> {
        let base = self.remote;
        let other = Remote::new(
            &format!("{}-reconfigured", base.name()),
            base.plugin().clone(),
            options,
            base.limits().clone(),
        )?
        .with_tls_trust(base.grant().tls.clone());
        let extra: Vec<String> = base
            .grant()
            .network
            .iter()
            .filter(|granted| {
                !other
                    .grant()
                    .network
                    .iter()
                    .any(|own| own.endpoint == granted.endpoint)
            })
            .map(|granted| granted.endpoint.clone())
            .collect();
        Ok(other.with_allowed_hosts(&extra))
    }

    /// Removes everything under the run's prefix; returns what was left
    /// behind, if anything could not be removed.
    pub(crate) async fn clean_up(&self) -> Result<(), String> {
        for _ in 0..3 {
            let (entries, _) = self.list(&self.prefix, None).await?;
            if entries.is_empty() {
                return Ok(());
            }
            for entry in entries {
                if let Entry::Object(meta) = entry {
                    let _ = self.remote.delete(&meta.key).await;
                }
            }
        }
        let left = self.list_names(&self.prefix, None).await?;
        if left.is_empty() {
            Ok(())
        } else {
            let shown: Vec<&String> = left.iter().take(5).collect();
            Err(format!(
                "could not remove {} objects under {}, e.g. {shown:?}",
                left.len(),
                self.prefix
            ))
        }
    }
}

/// Checks that `result` is an error of `kind`.
pub fn expect_kind<T>(what: &str, result: wharf::Result<T>, kind: ErrorKind) -> Check {
    match result {
        Err(e) if *e.kind() == kind => Ok(()),
        Err(e) => Err(format!(
            "{what}: expected {kind:?}, got {:?}: {e}",
            e.kind()
        )),
        Ok(_) => Err(format!("{what}: expected {kind:?}, but it succeeded")),
    }
}

/// Hex sha256 of `data`.
pub fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `n` reproducible bytes that do not compress and do not repeat with any
/// small period, so an off-by-one in a range shows.
pub fn pattern(n: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(n);
    out
}
