//! Every case of the suite, grouped, each with the capabilities it needs.
//! A case is an `async fn(&Ctx) -> Check`; the table at the bottom is the
//! suite.

use std::future::Future;
use std::pin::Pin;

use wharf::{ByteRange, Capabilities, Entry, ErrorKind, Span, WriteOptions};

use crate::context::{expect_kind, pattern, Check, Ctx};

/// What a case tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Keys that must work.
    Keys,
    /// Keys that must be refused with `invalid-key`.
    InvalidKeys,
    /// Writing, reading and describing objects.
    Objects,
    /// Ranged reads.
    Ranges,
    /// Deleting.
    Delete,
    /// Listing.
    List,
    /// Nothing is visible before `finish`, nothing is left after `abort`.
    Atomicity,
    /// Server-side copy.
    Copy,
    /// The errors a caller can provoke.
    Errors,
    /// Several operations in flight on one remote.
    Concurrency,
    /// Keys that are prefixes, and letter case.
    Layout,
    /// `write-new`: a taken key is refused, in the same step as the write.
    CreateOnly,
    /// `presign`: URLs a plain HTTP client can use.
    Urls,
}

impl Group {
    /// The group's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Group::Keys => "keys",
            Group::InvalidKeys => "invalid-keys",
            Group::Objects => "objects",
            Group::Ranges => "ranges",
            Group::Delete => "delete",
            Group::List => "list",
            Group::Atomicity => "atomicity",
            Group::Copy => "copy",
            Group::Errors => "errors",
            Group::Concurrency => "concurrency",
            Group::Layout => "layout",
            Group::CreateOnly => "create-only",
            Group::Urls => "urls",
        }
    }
}

/// A capability a case needs declared (or, for the `No…` needs, absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `ranged-read`.
    RangedRead,
    /// `ranged-read` absent.
    NoRangedRead,
    /// `list-delimiter`.
    ListDelimiter,
    /// `copy`.
    Copy,
    /// `copy` absent.
    NoCopy,
    /// `content-type`.
    ContentType,
    /// `user-metadata`.
    UserMetadata,
    /// `last-modified`.
    LastModified,
    /// `etag`.
    Etag,
    /// `key-and-prefix`.
    KeyAndPrefix,
    /// `key-and-prefix` absent.
    NoKeyAndPrefix,
    /// `case-insensitive` absent.
    CaseSensitive,
    /// `case-insensitive`.
    CaseInsensitive,
    /// A contract of 0.2.0 or later, which brought `store.delete-many`.
    DeleteMany,
    /// A contract of 0.3.0 or later, which brought `store.describe` and
    /// `store.hash`.
    Describe,
    /// `describe` says `create-only`: `store.write-new` is enforced.
    CreateOnly,
    /// `describe` says the store makes expiring URLs.
    ExpiringUrls,
    /// `describe` says the store makes public URLs.
    PublicUrls,
    /// The remote (or, for an overlay, a remote below it) is granted a
    /// directory, which the suite can look into for what the plugin left
    /// behind where no listing shows it.
    GrantedDirectory,
}

/// What decides whether a case applies, beyond the case itself.
pub struct Circumstances<'a> {
    /// What the plugin declares it can do.
    pub caps: &'a Capabilities,
    /// The contract version it was built for (`0.2.0`).
    pub contract: &'a str,
    /// Its store's description, for a plugin of contract 0.3 or later.
    pub description: Option<&'a wharf::StoreDescription>,
    /// Whether the remote is granted a directory.
    pub granted_directory: bool,
}

impl Need {
    /// Whether a plugin meets this need in these circumstances.
    pub fn met_by(self, now: &Circumstances<'_>) -> bool {
        let Circumstances {
            caps,
            contract,
            description,
            granted_directory,
        } = now;
        match self {
            Need::GrantedDirectory => *granted_directory,
            Need::CreateOnly => description.is_some_and(|d| d.create_only),
            Need::ExpiringUrls => {
                description.is_some_and(|d| matches!(d.urls, wharf::UrlSupport::Expiring(_)))
            }
            Need::PublicUrls => {
                description.is_some_and(|d| matches!(d.urls, wharf::UrlSupport::Public))
            }
            Need::DeleteMany => !matches!(
                contract.split('.').collect::<Vec<_>>()[..],
                ["0", "0" | "1", ..]
            ),
            Need::Describe => !matches!(
                contract.split('.').collect::<Vec<_>>()[..],
                ["0", "0" | "1" | "2", ..]
            ),
            Need::RangedRead => caps.ranged_read,
            Need::NoRangedRead => !caps.ranged_read,
            Need::ListDelimiter => caps.list_delimiter,
            Need::Copy => caps.copy,
            Need::NoCopy => !caps.copy,
            Need::ContentType => caps.content_type,
            Need::UserMetadata => caps.user_metadata,
            Need::LastModified => caps.last_modified,
            Need::Etag => caps.etag,
            Need::KeyAndPrefix => caps.key_and_prefix,
            Need::NoKeyAndPrefix => !caps.key_and_prefix,
            Need::CaseSensitive => !caps.case_insensitive,
            Need::CaseInsensitive => caps.case_insensitive,
        }
    }

    /// Why a case with this need did not run.
    pub fn describe(self) -> String {
        let (name, declared) = match self {
            Need::CreateOnly => {
                return "describe does not promise create-only writes (write-new)".to_owned()
            }
            Need::ExpiringUrls => {
                return "describe says the store makes no expiring URLs".to_owned()
            }
            Need::PublicUrls => return "describe says the store makes no public URLs".to_owned(),
            Need::GrantedDirectory => {
                return "the remote is granted no directory the suite could look into (a \
                        network plugin's server is checked by its own tests)"
                    .to_owned()
            }
            Need::DeleteMany => {
                return "the plugin was built for a contract before 0.2.0, which brought \
                        delete-many"
                    .to_owned()
            }
            Need::Describe => {
                return "the plugin was built for a contract before 0.3.0, which brought \
                        describe and hash"
                    .to_owned()
            }
            Need::RangedRead => ("ranged-read", false),
            Need::NoRangedRead => ("ranged-read", true),
            Need::ListDelimiter => ("list-delimiter", false),
            Need::Copy => ("copy", false),
            Need::NoCopy => ("copy", true),
            Need::ContentType => ("content-type", false),
            Need::UserMetadata => ("user-metadata", false),
            Need::LastModified => ("last-modified", false),
            Need::Etag => ("etag", false),
            Need::KeyAndPrefix => ("key-and-prefix", false),
            Need::NoKeyAndPrefix => ("key-and-prefix", true),
            Need::CaseSensitive => ("case-insensitive", true),
            Need::CaseInsensitive => ("case-insensitive", false),
        };
        if declared {
            format!("capability '{name}' is declared")
        } else {
            format!("capability '{name}' is not declared")
        }
    }
}

/// How a case runs.
pub type CaseFn = for<'a, 'r> fn(&'a Ctx<'r>) -> Pin<Box<dyn Future<Output = Check> + 'a>>;

/// One case of the suite.
pub struct Case {
    /// What it tests.
    pub group: Group,
    /// Its name, unique in the suite.
    pub name: &'static str,
    /// The capabilities it needs.
    pub needs: &'static [Need],
    /// The case itself.
    pub run: CaseFn,
}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

const MIB: usize = 1 << 20;
/// Larger than any chunk the host (1 MiB) or a first-party plugin uses, and
/// not a multiple of any of them.
const LARGE: usize = 17 * MIB + 3;

// ---------------------------------------------------------------- keys

async fn roundtrip(cx: &Ctx<'_>, name: &str) -> Check {
    let scope = cx.scope("key");
    let key = format!("{scope}{name}");
    let data = pattern(1000 + name.len(), name.len() as u64);
    let meta = cx.put(&key, &data).await?;
    ensure!(
        meta.key == key,
        "write returned key {:?}, expected {key:?}",
        meta.key
    );
    cx.expect_contents(&key, &data).await?;
    let stat = cx.stat(&key).await?;
    ensure!(
        stat.key == key && stat.size == data.len() as u64,
        "stat gave {:?} ({} bytes)",
        stat.key,
        stat.size
    );
    let listed = cx.list_names(&scope, None).await?;
    ensure!(
        listed == [key.clone()],
        "listing {scope:?} gave {listed:?}, expected [{key:?}]"
    );
    cx.remote.delete(&key).await.map_err(|e| e.to_string())?;
    cx.expect_absent(&key).await
}

async fn key_unicode(cx: &Ctx<'_>) -> Check {
    roundtrip(cx, "ünïcödé-日本語-🦀.txt").await
}
async fn key_spaces(cx: &Ctx<'_>) -> Check {
    roundtrip(cx, "with space/and  two  spaces .txt").await
}
async fn key_percent(cx: &Ctx<'_>) -> Check {
    roundtrip(cx, "100% sure %20 %2F %zz.txt").await
}
async fn key_plus(cx: &Ctx<'_>) -> Check {
    roundtrip(cx, "a+b+c.txt").await
}
async fn key_hash(cx: &Ctx<'_>) -> Check {
    roundtrip(cx, "#hash#.txt").await
}
async fn key_question(cx: &Ctx<'_>) -> Check {
    roundtrip(cx, "what?.txt").await
}
async fn key_punctuation(cx: &Ctx<'_>) -> Check {
    roundtrip(cx, "!$&'()*,;=@[]{}~^`|.txt").await
}
async fn key_quotes_backslash(cx: &Ctx<'_>) -> Check {
    roundtrip(cx, "back\\slash \"quoted\" 'single'").await
}
async fn key_dots(cx: &Ctx<'_>) -> Check {
    roundtrip(cx, ".hidden/..two/...three/name.").await
}
async fn key_deep(cx: &Ctx<'_>) -> Check {
    let name: Vec<String> = (0..30).map(|i| format!("level{i}")).collect();
    roundtrip(cx, &format!("{}/leaf", name.join("/"))).await
}
async fn key_long_segment(cx: &Ctx<'_>) -> Check {
    roundtrip(cx, &"s".repeat(200)).await
}
async fn key_max_length(cx: &Ctx<'_>) -> Check {
    // Exactly 1024 bytes, the contract's limit, in segments short enough for
    // any file system.
    let scope_len = cx.scope("key").len() + 8;
    let mut name = String::new();
    while scope_len + name.len() < wharf_key_max() {
        let left = wharf_key_max() - scope_len - name.len();
        if left > 101 {
            name.push_str(&"m".repeat(100));
            name.push('/');
        } else {
            name.push_str(&"m".repeat(left));
        }
    }
    let scope = cx.scope("key");
    let pad = wharf_key_max() - scope.len() - name.len();
    let key = format!("{scope}{}{name}", "p".repeat(pad));
    ensure!(
        key.len() == wharf_key_max(),
        "test bug: key is {} bytes",
        key.len()
    );
    let data = b"at the limit".to_vec();
    cx.put(&key, &data).await?;
    cx.expect_contents(&key, &data).await?;
    let listed = cx.list_names(&scope, None).await?;
    ensure!(listed == [key.clone()], "listing gave {listed:?}");
    Ok(())
}

fn wharf_key_max() -> usize {
    1024
}

// ---------------------------------------------------------------- invalid keys

async fn refused(cx: &Ctx<'_>, key: &str) -> Check {
    expect_kind(
        &format!("stat {key:?}"),
        cx.remote.stat(key).await,
        ErrorKind::InvalidKey,
    )?;
    expect_kind(
        &format!("write {key:?}"),
        cx.remote
            .open_write(key, WriteOptions::default())
            .await
            .map(|_| ()),
        ErrorKind::InvalidKey,
    )?;
    expect_kind(
        &format!("read {key:?}"),
        cx.remote.open_read(key, None).await.map(|_| ()),
        ErrorKind::InvalidKey,
    )?;
    expect_kind(
        &format!("delete {key:?}"),
        cx.remote.delete(key).await,
        ErrorKind::InvalidKey,
    )
}

async fn invalid_empty(cx: &Ctx<'_>) -> Check {
    refused(cx, "").await
}
async fn invalid_leading_slash(cx: &Ctx<'_>) -> Check {
    refused(cx, &format!("/{}x", cx.prefix())).await
}
async fn invalid_trailing_slash(cx: &Ctx<'_>) -> Check {
    refused(cx, &format!("{}x/", cx.prefix())).await
}
async fn invalid_empty_segment(cx: &Ctx<'_>) -> Check {
    refused(cx, &format!("{}a//b", cx.prefix())).await
}
async fn invalid_dot(cx: &Ctx<'_>) -> Check {
    refused(cx, &format!("{}a/./b", cx.prefix())).await?;
    refused(cx, ".").await
}
async fn invalid_dot_dot(cx: &Ctx<'_>) -> Check {
    refused(cx, &format!("{}a/../../b", cx.prefix())).await?;
    refused(cx, "..").await?;
    refused(cx, "../etc/passwd").await
}
async fn invalid_nul(cx: &Ctx<'_>) -> Check {
    refused(cx, &format!("{}nul\0byte", cx.prefix())).await
}
async fn invalid_too_long(cx: &Ctx<'_>) -> Check {
    let key = format!("{}{}", cx.prefix(), "x".repeat(1025 - cx.prefix().len()));
    refused(cx, &key).await
}
async fn invalid_list_prefix(cx: &Ctx<'_>) -> Check {
    for prefix in ["/", "a//", "../", "a/../", "nul\0"] {
        expect_kind(
            &format!("list {prefix:?}"),
            cx.remote.list(prefix, None).await.map(|_| ()),
            ErrorKind::InvalidKey,
        )?;
    }
    Ok(())
}
async fn invalid_copy_destination(cx: &Ctx<'_>) -> Check {
    let key = format!("{}src", cx.scope("copy"));
    cx.put(&key, b"x").await?;
    expect_kind(
        "copy to \"../x\"",
        cx.remote.copy(&key, "../x").await,
        ErrorKind::InvalidKey,
    )?;
    expect_kind(
        "copy from \"a//b\"",
        cx.remote.copy("a//b", &key).await,
        ErrorKind::InvalidKey,
    )
}

// ---------------------------------------------------------------- objects

async fn object_empty(cx: &Ctx<'_>) -> Check {
    let key = format!("{}empty", cx.scope("obj"));
    let meta = cx.put(&key, b"").await?;
    ensure!(
        meta.size == 0,
        "write of an empty object reported {} bytes",
        meta.size
    );
    cx.expect_contents(&key, b"").await?;
    let stat = cx.stat(&key).await?;
    ensure!(stat.size == 0, "stat reported {} bytes", stat.size);
    Ok(())
}
async fn object_small(cx: &Ctx<'_>) -> Check {
    let key = format!("{}small", cx.scope("obj"));
    cx.put(&key, b"hello, wharf").await?;
    cx.expect_contents(&key, b"hello, wharf").await
}
async fn object_large_streamed(cx: &Ctx<'_>) -> Check {
    let key = format!("{}large.bin", cx.scope("obj"));
    let data = pattern(LARGE, 7);
    let meta = cx
        .put_chunked(&key, &data, MIB, WriteOptions::default())
        .await?;
    ensure!(
        meta.size == LARGE as u64,
        "finish reported {} bytes, wrote {LARGE}",
        meta.size
    );
    cx.expect_contents(&key, &data).await
}
async fn object_odd_chunks(cx: &Ctx<'_>) -> Check {
    let key = format!("{}odd.bin", cx.scope("obj"));
    let data = pattern(3 * MIB + 11, 8);
    let mut writer = cx
        .remote
        .open_write(&key, WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let sizes = [1, 0, 7, 4096, 65_537, 0, MIB + 1, 3];
    let mut at = 0;
    let mut i = 0;
    while at < data.len() {
        let n = sizes[i % sizes.len()].min(data.len() - at);
        writer
            .write(&data[at..at + n])
            .await
            .map_err(|e| format!("chunk of {n} bytes: {e}"))?;
        at += n;
        i += 1;
    }
    writer.finish().await.map_err(|e| e.to_string())?;
    cx.expect_contents(&key, &data).await
}
async fn object_overwrite(cx: &Ctx<'_>) -> Check {
    let key = format!("{}over", cx.scope("obj"));
    cx.put(&key, &pattern(5000, 1)).await?;
    cx.put(&key, &pattern(90_000, 2)).await?;
    cx.expect_contents(&key, &pattern(90_000, 2)).await?;
    cx.put(&key, b"short").await?;
    cx.expect_contents(&key, b"short").await?;
    let stat = cx.stat(&key).await?;
    ensure!(
        stat.size == 5,
        "after overwriting with 5 bytes, stat says {}",
        stat.size
    );
    Ok(())
}
async fn object_stat_fields(cx: &Ctx<'_>) -> Check {
    let key = format!("{}stat", cx.scope("obj"));
    let meta = cx.put(&key, &pattern(1234, 3)).await?;
    let stat = cx.stat(&key).await?;
    ensure!(stat.key == key, "stat key {:?}", stat.key);
    ensure!(
        stat.size == 1234 && meta.size == 1234,
        "sizes: finish {}, stat {}",
        meta.size,
        stat.size
    );
    Ok(())
}
async fn object_last_modified(cx: &Ctx<'_>) -> Check {
    let key = format!("{}time", cx.scope("obj"));
    cx.put(&key, b"t").await?;
    let stat = cx.stat(&key).await?;
    let Some(time) = stat.last_modified else {
        return Err("last-modified is declared but stat has none".into());
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    ensure!(
        (time.seconds - now).abs() < 24 * 3600,
        "last-modified {} is more than a day from now ({now})",
        time.seconds
    );
    ensure!(
        time.nanoseconds < 1_000_000_000,
        "nanoseconds {} out of range",
        time.nanoseconds
    );
    Ok(())
}
async fn object_etag(cx: &Ctx<'_>) -> Check {
    let key = format!("{}etag", cx.scope("obj"));
    cx.put(&key, b"first").await?;
    let first = cx
        .stat(&key)
        .await?
        .etag
        .ok_or("etag is declared but stat has none")?;
    cx.put(&key, b"second, different").await?;
    let second = cx
        .stat(&key)
        .await?
        .etag
        .ok_or("etag is declared but stat has none")?;
    ensure!(
        first != second,
        "the etag did not change when the content did ({first})"
    );
    Ok(())
}
/// The hash of kind `kind` of `data`, where the suite computes that kind.
fn hash_of(kind: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest;
    Some(match kind {
        "md5" => hex::encode(md5::Md5::digest(data)),
        "sha1" => hex::encode(sha1::Sha1::digest(data)),
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "dropbox" => {
            let mut blocks = Vec::new();
            for block in data.chunks(4 << 20) {
                blocks.extend_from_slice(&sha2::Sha256::digest(block));
            }
            hex::encode(sha2::Sha256::digest(&blocks))
        }
        _ => return None,
    })
}

async fn describe(cx: &Ctx<'_>) -> Result<wharf::StoreDescription, String> {
    cx.remote
        .describe()
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "a plugin of contract 0.3 must answer describe".to_owned())
}

async fn object_etag_as_declared(cx: &Ctx<'_>) -> Check {
    let key = format!("{}declared-etag", cx.scope("obj"));
    let data = b"an object smaller than any part";
    cx.put(&key, data).await?;
    let description = describe(cx).await?;
    let etag = cx
        .stat(&key)
        .await?
        .etag
        .ok_or("etag is declared but stat has none")?;
    let etag = etag.trim_matches('"').to_ascii_lowercase();
    let (kind, want) = match &description.etag {
        wharf::EtagKind::Opaque => return Ok(()),
        wharf::EtagKind::Md5 | wharf::EtagKind::MultipartMd5(_) => ("md5", hash_of("md5", data)),
        wharf::EtagKind::Hash(kind) => (kind.as_str(), hash_of(kind, data)),
    };
    let want = want.ok_or(format!(
        "the etag is declared as a {kind:?} hash, which the suite does not know"
    ))?;
    ensure!(
        etag == want,
        "the etag is declared as the {kind} of the content, {want}, but is {etag}"
    );
    Ok(())
}
async fn object_hashes_on_request(cx: &Ctx<'_>) -> Check {
    let key = format!("{}hashed", cx.scope("obj"));
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
    cx.put(&key, &data).await?;
    for kind in describe(cx).await?.hashes {
        let got = cx
            .remote
            .hash(&key, &kind)
            .await
            .map_err(|e| format!("hash {kind}: {e}"))?;
        if let Some(want) = hash_of(&kind, &data) {
            ensure!(
                got.to_ascii_lowercase() == want,
                "the {kind} hash is {got}, the bytes' is {want}"
            );
        }
    }
    Ok(())
}
async fn object_hash_refusals(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("obj");
    let key = format!("{scope}hash-refusals");
    cx.put(&key, b"x").await?;
    match cx.remote.hash(&key, "no-such-hash").await {
        Err(e) if *e.kind() == ErrorKind::Unsupported => {}
        other => {
            return Err(format!(
                "a kind describe does not list must be unsupported, got {other:?}"
            ))
        }
    }
    if let Some(kind) = describe(cx).await?.hashes.first() {
        match cx.remote.hash(&format!("{scope}never-written"), kind).await {
            Err(e) if *e.kind() == ErrorKind::NotFound => {}
            other => {
                return Err(format!(
                    "the {kind} hash of a missing key must be not-found, got {other:?}"
                ))
            }
        }
    }
    Ok(())
}
async fn object_content_type(cx: &Ctx<'_>) -> Check {
    let key = format!("{}typed.json", cx.scope("obj"));
    let options = WriteOptions {
        content_type: Some("application/json".into()),
        ..WriteOptions::default()
    };
    cx.put_chunked(&key, b"{}", MIB, options).await?;
    let stat = cx.stat(&key).await?;
    ensure!(
        stat.content_type.as_deref() == Some("application/json"),
        "content type came back as {:?}",
        stat.content_type
    );
    Ok(())
}
async fn object_user_metadata(cx: &Ctx<'_>) -> Check {
    let key = format!("{}meta", cx.scope("obj"));
    let metadata = vec![
        ("owner".to_owned(), "wharf".to_owned()),
        ("purpose".to_owned(), "conformance test".to_owned()),
    ];
    let options = WriteOptions {
        metadata: metadata.clone(),
        ..WriteOptions::default()
    };
    cx.put_chunked(&key, b"m", MIB, options).await?;
    let mut got = cx.stat(&key).await?.metadata;
    got.sort();
    ensure!(
        got == metadata,
        "metadata came back as {got:?}, expected {metadata:?}"
    );
    Ok(())
}
async fn object_list_sizes(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("obj");
    for (name, size) in [("a", 0), ("b", 1), ("c", 70_000)] {
        cx.put(&format!("{scope}{name}"), &pattern(size, 4)).await?;
    }
    let (entries, _) = cx.list(&scope, None).await?;
    let sizes: Vec<u64> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Object(m) => Some(m.size),
            _ => None,
        })
        .collect();
    ensure!(
        sizes == [0, 1, 70_000],
        "listed sizes {sizes:?}, expected [0, 1, 70000]"
    );
    Ok(())
}
async fn object_two_readers(cx: &Ctx<'_>) -> Check {
    let key = format!("{}shared", cx.scope("obj"));
    let data = pattern(3 * MIB, 5);
    cx.put(&key, &data).await?;
    let mut a = cx
        .remote
        .open_read(&key, None)
        .await
        .map_err(|e| e.to_string())?;
    let mut b = cx
        .remote
        .open_read(&key, None)
        .await
        .map_err(|e| e.to_string())?;
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    loop {
        let chunk_a = a.read().await.map_err(|e| e.to_string())?;
        let chunk_b = b.read().await.map_err(|e| e.to_string())?;
        if chunk_a.is_empty() && chunk_b.is_empty() {
            break;
        }
        got_a.extend(chunk_a);
        got_b.extend(chunk_b);
    }
    ensure!(
        got_a == data && got_b == data,
        "two interleaved readers got {} and {} bytes of {}",
        got_a.len(),
        got_b.len(),
        data.len()
    );
    Ok(())
}

// ---------------------------------------------------------------- ranges

async fn range_check(
    cx: &Ctx<'_>,
    size: usize,
    range: ByteRange,
    want: std::ops::Range<usize>,
) -> Check {
    let key = format!("{}r", cx.scope("range"));
    let data = pattern(size, 9);
    cx.put(&key, &data).await?;
    let got = cx.get(&key, Some(range)).await?;
    ensure!(
        got == data[want.clone()],
        "range {range:?} of a {size}-byte object gave {} bytes; expected bytes {want:?}",
        got.len()
    );
    Ok(())
}
async fn range_start(cx: &Ctx<'_>) -> Check {
    range_check(
        cx,
        10_000,
        ByteRange::Span(Span {
            offset: 0,
            length: 100,
        }),
        0..100,
    )
    .await
}
async fn range_middle(cx: &Ctx<'_>) -> Check {
    range_check(
        cx,
        10_000,
        ByteRange::Span(Span {
            offset: 4321,
            length: 1234,
        }),
        4321..5555,
    )
    .await
}
async fn range_suffix(cx: &Ctx<'_>) -> Check {
    range_check(cx, 10_000, ByteRange::Suffix(77), 9923..10_000).await
}
async fn range_from(cx: &Ctx<'_>) -> Check {
    range_check(cx, 10_000, ByteRange::From(9000), 9000..10_000).await
}
async fn range_past_end(cx: &Ctx<'_>) -> Check {
    range_check(
        cx,
        10_000,
        ByteRange::Span(Span {
            offset: 20_000,
            length: 10,
        }),
        0..0,
    )
    .await?;
    range_check(cx, 10_000, ByteRange::From(10_000), 0..0).await
}
async fn range_overhanging(cx: &Ctx<'_>) -> Check {
    range_check(
        cx,
        10_000,
        ByteRange::Span(Span {
            offset: 9990,
            length: 500,
        }),
        9990..10_000,
    )
    .await
}
async fn range_suffix_longer(cx: &Ctx<'_>) -> Check {
    range_check(cx, 100, ByteRange::Suffix(5000), 0..100).await
}
async fn range_zero_length(cx: &Ctx<'_>) -> Check {
    range_check(
        cx,
        100,
        ByteRange::Span(Span {
            offset: 10,
            length: 0,
        }),
        0..0,
    )
    .await
}
async fn range_empty_object(cx: &Ctx<'_>) -> Check {
    range_check(
        cx,
        0,
        ByteRange::Span(Span {
            offset: 0,
            length: 10,
        }),
        0..0,
    )
    .await?;
    range_check(cx, 0, ByteRange::Suffix(10), 0..0).await
}
async fn range_across_chunks(cx: &Ctx<'_>) -> Check {
    let offset = MIB - 10;
    range_check(
        cx,
        4 * MIB,
        ByteRange::Span(Span {
            offset: offset as u64,
            length: 2 * MIB as u64,
        }),
        offset..offset + 2 * MIB,
    )
    .await
}
async fn range_unsupported(cx: &Ctx<'_>) -> Check {
    let key = format!("{}r", cx.scope("range"));
    cx.put(&key, b"0123456789").await?;
    let result = cx
        .remote
        .open_read(&key, Some(ByteRange::From(3)))
        .await
        .map(|_| ());
    expect_kind(
        "a ranged read without ranged-read",
        result,
        ErrorKind::Unsupported,
    )
}

// ---------------------------------------------------------------- delete

async fn delete_removes(cx: &Ctx<'_>) -> Check {
    let key = format!("{}gone", cx.scope("del"));
    cx.put(&key, b"x").await?;
    cx.remote.delete(&key).await.map_err(|e| e.to_string())?;
    cx.expect_absent(&key).await?;
    let listed = cx.list_names(&key, None).await?;
    ensure!(
        listed.is_empty(),
        "a deleted key is still listed: {listed:?}"
    );
    Ok(())
}
async fn delete_missing_succeeds(cx: &Ctx<'_>) -> Check {
    let key = format!("{}never-written", cx.scope("del"));
    cx.remote
        .delete(&key)
        .await
        .map_err(|e| format!("deleting a missing key must succeed: {e}"))
}
async fn delete_twice(cx: &Ctx<'_>) -> Check {
    let key = format!("{}twice", cx.scope("del"));
    cx.put(&key, b"x").await?;
    cx.remote.delete(&key).await.map_err(|e| e.to_string())?;
    cx.remote
        .delete(&key)
        .await
        .map_err(|e| format!("the second delete must succeed: {e}"))
}
async fn delete_keeps_keys_below(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("del");
    let child = format!("{scope}dir/child");
    cx.put(&child, b"child").await?;
    cx.remote
        .delete(&format!("{scope}dir"))
        .await
        .map_err(|e| e.to_string())?;
    cx.expect_contents(&child, b"child").await
}
async fn delete_many_keys(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("del");
    for name in ["a", "b", "c", "kept"] {
        cx.put(&format!("{scope}{name}"), name.as_bytes()).await?;
    }
    let keys: Vec<String> = ["a", "b", "c", "never-written"]
        .iter()
        .map(|name| format!("{scope}{name}"))
        .collect();
    let results = cx.remote.delete_many(&keys).await;
    if results.len() != keys.len() {
        return Err(format!(
            "delete-many of {} keys gave {} results",
            keys.len(),
            results.len()
        ));
    }
    for (key, result) in keys.iter().zip(results) {
        result.map_err(|e| format!("delete-many must delete {key:?} (or find it missing): {e}"))?;
    }
    for key in &keys {
        cx.expect_absent(key).await?;
    }
    cx.expect_contents(&format!("{scope}kept"), b"kept").await
}
async fn delete_many_invalid_key_alone(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("del");
    let good = format!("{scope}good");
    cx.put(&good, b"good").await?;
    let keys = vec![format!("{scope}bad//key"), good.clone()];
    let results = cx.remote.delete_many(&keys).await;
    match &results[..] {
        [Err(invalid), Ok(())] if *invalid.kind() == ErrorKind::InvalidKey => {
            cx.expect_absent(&good).await
        }
        other => Err(format!(
            "expected invalid-key for {:?} and success for {good:?}, got {other:?}",
            keys[0]
        )),
    }
}
async fn delete_keeps_siblings(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("del");
    for name in ["a", "b", "c"] {
        cx.put(&format!("{scope}{name}"), name.as_bytes()).await?;
    }
    cx.remote
        .delete(&format!("{scope}b"))
        .await
        .map_err(|e| e.to_string())?;
    let listed = cx.list_names(&scope, None).await?;
    ensure!(
        listed == [format!("{scope}a"), format!("{scope}c")],
        "after deleting b: {listed:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------- list

async fn list_unused_prefix(cx: &Ctx<'_>) -> Check {
    let listed = cx.list_names(&cx.scope("nothing-here"), None).await?;
    ensure!(listed.is_empty(), "an unused prefix listed {listed:?}");
    Ok(())
}
async fn list_partial_segment(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("list");
    for name in ["abc", "abd", "b", "ab/deeper"] {
        cx.put(&format!("{scope}{name}"), b"x").await?;
    }
    let listed = cx.list_names(&format!("{scope}ab"), None).await?;
    let want: Vec<String> = ["ab/deeper", "abc", "abd"]
        .iter()
        .map(|n| format!("{scope}{n}"))
        .collect();
    ensure!(
        listed == want,
        "prefix ending mid-name listed {listed:?}, expected {want:?}"
    );
    Ok(())
}
async fn list_recursive(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("list");
    let names = ["x/1", "x/y/2", "x/y/z/3", "top"];
    for name in names {
        cx.put(&format!("{scope}{name}"), b"x").await?;
    }
    let listed = cx.list_names(&scope, None).await?;
    let mut want: Vec<String> = names.iter().map(|n| format!("{scope}{n}")).collect();
    want.sort();
    ensure!(
        listed == want,
        "listing without a delimiter gave {listed:?}, expected {want:?}"
    );
    Ok(())
}
async fn list_delimiter(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("list");
    for name in ["a/1", "a/2", "a/b/3", "c", "d/e/f/4"] {
        cx.put(&format!("{scope}{name}"), b"x").await?;
    }
    let listed = cx.list_names(&scope, Some("/")).await?;
    let want: Vec<String> = ["a/", "c", "d/"]
        .iter()
        .map(|n| format!("{scope}{n}"))
        .collect();
    ensure!(
        listed == want,
        "listing with '/' gave {listed:?}, expected {want:?}"
    );
    let inner = cx.list_names(&format!("{scope}a/"), Some("/")).await?;
    let want: Vec<String> = ["a/1", "a/2", "a/b/"]
        .iter()
        .map(|n| format!("{scope}{n}"))
        .collect();
    ensure!(
        inner == want,
        "listing a/ with '/' gave {inner:?}, expected {want:?}"
    );
    Ok(())
}
async fn list_delimiter_partial(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("list");
    for name in [
        "photos-2025/a",
        "photos-2026/b",
        "photos-2026/c",
        "photos.txt",
        "other",
    ] {
        cx.put(&format!("{scope}{name}"), b"x").await?;
    }
    let listed = cx.list_names(&format!("{scope}photos"), Some("/")).await?;
    let want: Vec<String> = ["photos-2025/", "photos-2026/", "photos.txt"]
        .iter()
        .map(|n| format!("{scope}{n}"))
        .collect();
    ensure!(listed == want, "got {listed:?}, expected {want:?}");
    Ok(())
}
async fn list_byte_order(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("list");
    let mut names = vec![
        "a", "a-b", "a.b", "a0", "A", "B", "_", "é", "z", "~", "a~/x",
    ];
    // "a" and "a/b" can only both exist where a key may also be a prefix.
    if cx.caps.key_and_prefix {
        names.push("a/b");
    }
    // "A" and "a" name one object where case does not count.
    if cx.caps.case_insensitive {
        names.retain(|n| *n != "A");
    }
    for name in &names {
        cx.put(&format!("{scope}{name}"), b"x").await?;
    }
    let listed = cx.list_names(&scope, None).await?;
    let mut want: Vec<String> = names.iter().map(|n| format!("{scope}{n}")).collect();
    want.sort();
    ensure!(
        listed == want,
        "listing is not in byte order: {listed:?}, expected {want:?}"
    );
    Ok(())
}
/// Checks a listing that took `pages` pages against `want` (byte order):
/// more than one page, nothing twice, nothing missing, nothing extra, in
/// order, and common prefixes (ending in `/`) as prefixes, not objects.
fn check_paged_listing(what: &str, entries: Vec<Entry>, pages: usize, want: &[String]) -> Check {
    ensure!(
        pages >= 2,
        "{what}: {} entries came in {pages} page(s); pages are at most {} entries",
        want.len(),
        wharf::LIST_PAGE
    );
    let mut listed = Vec::with_capacity(entries.len());
    for entry in entries {
        let (name, is_prefix) = match entry {
            Entry::Object(meta) => (meta.key, false),
            Entry::CommonPrefix(prefix) => (prefix, true),
        };
        ensure!(
            is_prefix == name.ends_with('/'),
            "{what}: {name:?} came as {}",
            if is_prefix {
                "a common prefix"
            } else {
                "an object"
            }
        );
        listed.push(name);
    }
    let mut counts = std::collections::BTreeMap::new();
    for name in &listed {
        *counts.entry(name.as_str()).or_insert(0usize) += 1;
    }
    let twice: Vec<&&str> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(name, _)| name)
        .take(5)
        .collect();
    ensure!(
        twice.is_empty(),
        "{what}: listed more than once, e.g. {twice:?}"
    );
    let missing: Vec<&String> = want
        .iter()
        .filter(|k| !counts.contains_key(k.as_str()))
        .take(5)
        .collect();
    ensure!(missing.is_empty(), "{what}: missing, e.g. {missing:?}");
    ensure!(
        listed.len() == want.len(),
        "{what}: {} entries, expected {}; extra, e.g. {:?}",
        listed.len(),
        want.len(),
        listed
            .iter()
            .filter(|k| want.binary_search(k).is_err())
            .take(5)
            .collect::<Vec<_>>()
    );
    ensure!(listed == want, "{what}: not in byte order");
    Ok(())
}
async fn list_pages(cx: &Ctx<'_>) -> Check {
    let set = cx.page_set().await?;
    let (entries, pages) = cx.list(&set.scope, None).await?;
    let what = format!("listing {} keys", set.keys.len());
    check_paged_listing(&what, entries, pages, &set.keys)?;
    let again = cx.list_names(&set.scope, None).await?;
    ensure!(again == set.keys, "two listings of the same keys differ");
    Ok(())
}
async fn list_pages_delimiter(cx: &Ctx<'_>) -> Check {
    let set = cx.page_set().await?;
    let (entries, pages) = cx.list(&set.scope, Some("/")).await?;
    let what = format!(
        "listing {} keys and sub-prefixes with '/'",
        set.folded.len()
    );
    check_paged_listing(&what, entries, pages, &set.folded)
}
async fn list_after_write(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("list");
    let done = format!("{scope}done");
    let pending = format!("{scope}pending");
    cx.put(&done, b"x").await?;
    let mut writer = cx
        .remote
        .open_write(&pending, WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    writer.write(b"not yet").await.map_err(|e| e.to_string())?;
    let listed = cx.list_names(&scope, None).await?;
    writer.abort().await.map_err(|e| e.to_string())?;
    ensure!(
        listed == [done.clone()],
        "with one finished and one pending write, the listing gave {listed:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------- atomicity

async fn atomic_invisible_before_finish(cx: &Ctx<'_>) -> Check {
    let key = format!("{}pending", cx.scope("atomic"));
    let mut writer = cx
        .remote
        .open_write(&key, WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    writer
        .write(&pattern(MIB + 5, 1))
        .await
        .map_err(|e| e.to_string())?;
    cx.expect_absent(&key).await?;
    writer.finish().await.map_err(|e| e.to_string())?;
    cx.expect_contents(&key, &pattern(MIB + 5, 1)).await
}
async fn atomic_abort_leaves_nothing(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("atomic");
    let key = format!("{scope}aborted");
    let mut writer = cx
        .remote
        .open_write(&key, WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    writer
        .write(&pattern(2 * MIB, 2))
        .await
        .map_err(|e| e.to_string())?;
    writer.abort().await.map_err(|e| format!("abort: {e}"))?;
    cx.expect_absent(&key).await?;
    let listed = cx.list_names(&scope, None).await?;
    ensure!(listed.is_empty(), "an aborted write left {listed:?}");
    Ok(())
}
async fn atomic_drop_leaves_nothing(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("atomic");
    let key = format!("{scope}dropped");
    let mut writer = cx
        .remote
        .open_write(&key, WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    writer
        .write(&pattern(MIB, 3))
        .await
        .map_err(|e| e.to_string())?;
    drop(writer);
    cx.expect_absent(&key).await?;
    let listed = cx.list_names(&scope, None).await?;
    ensure!(listed.is_empty(), "a dropped write left {listed:?}");
    Ok(())
}
async fn atomic_abandoned_writes_leave_no_trace(cx: &Ctx<'_>) -> Check {
    // What a listing shows is checked above; this looks at everything in
    // the plugin's directory, where a temporary file would hide.
    let scope = cx.scope("atomic");
    cx.put(&format!("{scope}kept"), b"kept").await?;
    cx.remote.release_abandoned().await;
    let before = cx.granted_files()?;
    let aborted = format!("{scope}trace/aborted");
    let mut writer = cx
        .remote
        .open_write(&aborted, WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    writer
        .write(&pattern(MIB + 7, 4))
        .await
        .map_err(|e| e.to_string())?;
    writer.abort().await.map_err(|e| format!("abort: {e}"))?;
    let dropped = format!("{scope}trace/deeper/dropped");
    let mut writer = cx
        .remote
        .open_write(&dropped, WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    writer
        .write(&pattern(MIB + 9, 5))
        .await
        .map_err(|e| e.to_string())?;
    drop(writer);
    // The host tells the plugin about the dropped writer in a task of its
    // own; this waits until it has.
    cx.remote.release_abandoned().await;
    let after = cx.granted_files()?;
    let left: Vec<&String> = after.iter().filter(|p| !before.contains(*p)).collect();
    ensure!(
        left.is_empty(),
        "an aborted and a dropped write left {left:?} in the plugin's directory (temporary \
         data must be removed by abort, which the host calls on every writer it does not \
         finish)"
    );
    Ok(())
}
async fn atomic_overwrite_in_progress(cx: &Ctx<'_>) -> Check {
    let key = format!("{}replace", cx.scope("atomic"));
    cx.put(&key, b"old").await?;
    let mut writer = cx
        .remote
        .open_write(&key, WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    writer
        .write(b"new contents")
        .await
        .map_err(|e| e.to_string())?;
    cx.expect_contents(&key, b"old").await?;
    writer.abort().await.map_err(|e| e.to_string())?;
    cx.expect_contents(&key, b"old").await?;
    let mut writer = cx
        .remote
        .open_write(&key, WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    writer
        .write(b"new contents")
        .await
        .map_err(|e| e.to_string())?;
    writer.finish().await.map_err(|e| e.to_string())?;
    cx.expect_contents(&key, b"new contents").await
}
async fn atomic_abort_twice(cx: &Ctx<'_>) -> Check {
    // The host's writer handle is consumed by abort, so the second abort
    // is the plugin's: dropping an aborted writer must be harmless.
    let key = format!("{}abort2", cx.scope("atomic"));
    let writer = cx
        .remote
        .open_write(&key, WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    writer.abort().await.map_err(|e| e.to_string())?;
    cx.expect_absent(&key).await
}
async fn atomic_empty_write_then_abort(cx: &Ctx<'_>) -> Check {
    let key = format!("{}nothing", cx.scope("atomic"));
    cx.put(&key, b"keep me").await?;
    let writer = cx
        .remote
        .open_write(&key, WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    writer.abort().await.map_err(|e| e.to_string())?;
    cx.expect_contents(&key, b"keep me").await
}

// ---------------------------------------------------------------- copy

async fn copy_creates(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("copy");
    let (src, dst) = (format!("{scope}src"), format!("{scope}sub/dst"));
    let data = pattern(70_001, 11);
    cx.put(&src, &data).await?;
    let meta = cx
        .remote
        .copy(&src, &dst)
        .await
        .map_err(|e| e.to_string())?;
    ensure!(
        meta.key == dst && meta.size == data.len() as u64,
        "copy returned {:?} ({} bytes)",
        meta.key,
        meta.size
    );
    cx.expect_contents(&dst, &data).await?;
    cx.expect_contents(&src, &data).await
}
async fn copy_overwrites(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("copy");
    let (src, dst) = (format!("{scope}src"), format!("{scope}dst"));
    cx.put(&src, b"source").await?;
    cx.put(&dst, b"the old destination, longer").await?;
    cx.remote
        .copy(&src, &dst)
        .await
        .map_err(|e| e.to_string())?;
    cx.expect_contents(&dst, b"source").await
}
async fn copy_missing_source(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("copy");
    let dst = format!("{scope}dst");
    expect_kind(
        "copy of a missing source",
        cx.remote.copy(&format!("{scope}nope"), &dst).await,
        ErrorKind::NotFound,
    )?;
    cx.expect_absent(&dst).await
}
async fn copy_large(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("copy");
    let (src, dst) = (format!("{scope}big"), format!("{scope}big-copy"));
    let data = pattern(LARGE, 12);
    cx.put(&src, &data).await?;
    cx.remote
        .copy(&src, &dst)
        .await
        .map_err(|e| e.to_string())?;
    cx.expect_contents(&dst, &data).await
}
async fn copy_unsupported(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("copy");
    let src = format!("{scope}src");
    cx.put(&src, b"x").await?;
    expect_kind(
        "copy without the copy capability",
        cx.remote.copy(&src, &format!("{scope}dst")).await,
        ErrorKind::Unsupported,
    )
}

// ---------------------------------------------------------------- errors

async fn error_read_missing(cx: &Ctx<'_>) -> Check {
    let key = format!("{}missing", cx.scope("err"));
    expect_kind(
        "read of a missing key",
        cx.remote.open_read(&key, None).await.map(|_| ()),
        ErrorKind::NotFound,
    )
}
async fn error_stat_missing(cx: &Ctx<'_>) -> Check {
    let key = format!("{}missing", cx.scope("err"));
    expect_kind(
        "stat of a missing key",
        cx.remote.stat(&key).await,
        ErrorKind::NotFound,
    )
}
async fn error_stat_prefix(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("err");
    cx.put(&format!("{scope}dir/child"), b"x").await?;
    expect_kind(
        "stat of a key that is only a prefix",
        cx.remote.stat(&format!("{scope}dir")).await,
        ErrorKind::NotFound,
    )?;
    expect_kind(
        "read of a key that is only a prefix",
        cx.remote
            .open_read(&format!("{scope}dir"), None)
            .await
            .map(|_| ()),
        ErrorKind::NotFound,
    )
}
async fn error_messages_say_something(cx: &Ctx<'_>) -> Check {
    let key = format!("{}missing", cx.scope("err"));
    let error = cx
        .remote
        .stat(&key)
        .await
        .err()
        .ok_or("stat of a missing key succeeded")?;
    ensure!(
        error.message().trim().len() >= 8,
        "the plugin's message {:?} does not say what went wrong",
        error.message()
    );
    Ok(())
}
/// Opens a second remote with `options` and checks the plugin refuses them
/// with `invalid-config`, naming `option`. Opening takes a write, since a
/// read of a remote whose directory is missing never starts the plugin.
async fn expect_invalid_config(
    cx: &Ctx<'_>,
    options: Vec<(String, String)>,
    option: &str,
    what: &str,
) -> Check {
    let key = format!("{}never-written", cx.scope("err"));
    let error = match cx.reconfigured(options) {
        Err(error) => error,
        Ok(remote) => match remote.open_write(&key, WriteOptions::default()).await {
            Err(error) => error,
            Ok(writer) => {
                let _ = writer.abort().await;
                return Err(format!("{what}: the plugin opened the store"));
            }
        },
    };
    ensure!(
        *error.kind() == ErrorKind::InvalidConfig,
        "{what}: expected InvalidConfig, got {:?}: {error}",
        error.kind()
    );
    ensure!(
        error.message().contains(option),
        "{what}: the message {:?} does not name the option '{option}'",
        error.message()
    );
    Ok(())
}
async fn error_invalid_config(cx: &Ctx<'_>) -> Check {
    let given = cx.remote.options();
    let unknown = "wharf-conformance-unknown-option";
    let mut with_unknown = given.clone();
    with_unknown.push((unknown.to_owned(), "1".to_owned()));
    expect_invalid_config(
        cx,
        with_unknown,
        unknown,
        &format!("with the unknown option '{unknown}'"),
    )
    .await?;
    // An option with a default is never missing, so only one without can
    // be taken away.
    let info = cx.remote.plugin().info();
    let required = info.options.iter().find(|spec| {
        spec.required && spec.default.is_none() && given.iter().any(|(n, _)| *n == spec.name)
    });
    if let Some(spec) = required {
        let without: Vec<(String, String)> = given
            .iter()
            .filter(|(name, _)| *name != spec.name)
            .cloned()
            .collect();
        expect_invalid_config(
            cx,
            without,
            &spec.name,
            &format!("without the required option '{}'", spec.name),
        )
        .await?;
    }
    Ok(())
}
async fn error_write_after_finish(cx: &Ctx<'_>) -> Check {
    // The host consumes a finished writer, so this probes the plugin: after
    // finish, a fresh write to the same key must still work normally.
    let key = format!("{}again", cx.scope("err"));
    cx.put(&key, b"one").await?;
    cx.put(&key, b"two").await?;
    cx.expect_contents(&key, b"two").await
}

// ---------------------------------------------------------------- concurrency

async fn parallel_writers_and_readers(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("par");
    let keys: Vec<String> = (0..4).map(|i| format!("{scope}w{i}")).collect();
    let data: Vec<Vec<u8>> = (0..4)
        .map(|i| pattern(2 * MIB + i * 1000, 20 + i as u64))
        .collect();
    let writes = keys
        .iter()
        .zip(&data)
        .map(|(key, bytes)| cx.put_chunked(key, bytes, 256 * 1024, WriteOptions::default()));
    for result in join_all(writes).await {
        result?;
    }
    let reads = keys
        .iter()
        .zip(&data)
        .map(|(key, bytes)| cx.expect_contents(key, bytes));
    for result in join_all(reads).await {
        result?;
    }
    Ok(())
}
async fn readers_beside_writers(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("par");
    let object = |name: &str, i: usize| {
        (
            format!("{scope}{name}{i}"),
            pattern(MIB + 1000 * i + 1, 40 + i as u64),
        )
    };
    let old: Vec<(String, Vec<u8>)> = (0..3).map(|i| object("old", i)).collect();
    let new: Vec<(String, Vec<u8>)> = (0..3).map(|i| object("new", i + 3)).collect();
    for (key, data) in &old {
        cx.put(key, data).await?;
    }
    // Alternate readers and writers so their calls interleave; writers send
    // quarter chunks, so each write spans several calls between reads.
    let mut steps: Vec<Pin<Box<dyn Future<Output = Check> + '_>>> = Vec::new();
    for ((old_key, old_data), (new_key, new_data)) in old.iter().zip(&new) {
        steps.push(Box::pin(cx.expect_contents(old_key, old_data)));
        steps.push(Box::pin(async move {
            cx.put_chunked(new_key, new_data, MIB / 4, WriteOptions::default())
                .await
                .map(drop)
        }));
    }
    for result in join_all(steps).await {
        result?;
    }
    for (key, data) in new.iter().chain(&old) {
        cx.expect_contents(key, data).await?;
    }
    Ok(())
}
async fn interleaved_read_and_write(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("par");
    let (src, dst) = (format!("{scope}src"), format!("{scope}dst"));
    let data = pattern(5 * MIB + 17, 30);
    cx.put(&src, &data).await?;
    let mut reader = cx
        .remote
        .open_read(&src, None)
        .await
        .map_err(|e| e.to_string())?;
    let mut writer = cx
        .remote
        .open_write(&dst, WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    loop {
        let chunk = reader.read().await.map_err(|e| e.to_string())?;
        if chunk.is_empty() {
            break;
        }
        writer.write(&chunk).await.map_err(|e| e.to_string())?;
    }
    writer.finish().await.map_err(|e| e.to_string())?;
    cx.expect_contents(&dst, &data).await
}

/// Polls futures together on one task: the remote serializes calls, so this
/// interleaves their steps as concurrent callers would.
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|task| {
        let mut pending = false;
        for (future, slot) in pinned.iter_mut().zip(results.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(task) {
                    std::task::Poll::Ready(value) => *slot = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().map(|r| r.unwrap()).collect()
}

// ---------------------------------------------------------------- layout

async fn layout_key_and_prefix(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("layout");
    cx.put(&format!("{scope}x"), b"object").await?;
    cx.put(&format!("{scope}x/y"), b"below").await?;
    cx.expect_contents(&format!("{scope}x"), b"object").await?;
    let listed = cx.list_names(&scope, Some("/")).await?;
    ensure!(
        listed == [format!("{scope}x"), format!("{scope}x/")],
        "listing gave {listed:?}"
    );
    Ok(())
}
async fn layout_no_key_and_prefix(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("layout");
    let (object, below) = (format!("{scope}x"), format!("{scope}x/y"));
    cx.put(&object, b"object").await?;
    let result = cx
        .remote
        .put(&below, &b"below"[..], WriteOptions::default())
        .await
        .map(|_| ());
    expect_kind(
        "writing below an object without key-and-prefix",
        result,
        ErrorKind::AlreadyExists,
    )?;
    cx.expect_contents(&object, b"object").await?;
    let (dir, child) = (format!("{scope}d"), format!("{scope}d/child"));
    cx.put(&child, b"child").await?;
    let result = cx
        .remote
        .put(&dir, &b"over a prefix"[..], WriteOptions::default())
        .await
        .map(|_| ());
    expect_kind(
        "writing a key that is a prefix without key-and-prefix",
        result,
        ErrorKind::AlreadyExists,
    )?;
    cx.expect_contents(&child, b"child").await
}
async fn layout_case_sensitive(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("layout");
    cx.put(&format!("{scope}Case"), b"upper").await?;
    cx.put(&format!("{scope}case"), b"lower").await?;
    cx.expect_contents(&format!("{scope}Case"), b"upper")
        .await?;
    cx.expect_contents(&format!("{scope}case"), b"lower").await
}
async fn layout_case_insensitive(cx: &Ctx<'_>) -> Check {
    let scope = cx.scope("layout");
    cx.put(&format!("{scope}Case"), b"upper").await?;
    cx.expect_contents(&format!("{scope}case"), b"upper").await
}

// ------------------------------------------------ create-only, URLs

/// What a write-new of `data` at `key` came to.
async fn write_new(cx: &Ctx<'_>, key: &str, data: &[u8]) -> Result<(), wharf::Error> {
    let mut writer = cx
        .remote
        .open_write_new(key, WriteOptions::default())
        .await?;
    writer.write(data).await?;
    writer.finish().await.map(|_| ())
}

async fn create_only_refuses_a_taken_key(cx: &Ctx<'_>) -> Check {
    let key = format!("{}taken", cx.scope("create-only"));
    write_new(cx, &key, b"first")
        .await
        .map_err(|e| format!("a write-new of a free key failed: {e}"))?;
    match write_new(cx, &key, b"second").await {
        Err(e) if *e.kind() == wharf::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(format!(
                "a write-new of a taken key failed with {e}, not already-exists"
            ))
        }
        Ok(()) => return Err("a write-new of a taken key finished: it replaced the object".into()),
    }
    cx.expect_contents(&key, b"first").await
}

async fn create_only_race(cx: &Ctx<'_>) -> Check {
    let key = format!("{}contested", cx.scope("create-only"));
    let body = |n: u8| vec![n; 100_000 + n as usize];
    // Every writer is open and has its bytes before any finishes, so the
    // finishes race for the key.
    let mut writers = Vec::new();
    for n in 0..6u8 {
        let mut writer = cx
            .remote
            .open_write_new(&key, WriteOptions::default())
            .await
            .map_err(|e| format!("write-new {n}: {e}"))?;
        writer
            .write(&body(n))
            .await
            .map_err(|e| format!("write-new {n}: {e}"))?;
        writers.push(writer);
    }
    let mut finishing = writers.into_iter().map(|w| w.finish());
    let mut next = || finishing.next().expect("six writers");
    let results = tokio::join!(next(), next(), next(), next(), next(), next());
    let results = [
        results.0, results.1, results.2, results.3, results.4, results.5,
    ];
    let winners: Vec<usize> = (0..6).filter(|&n| results[n].is_ok()).collect();
    ensure!(
        winners.len() == 1,
        "{} of 6 racing write-news of one key finished (exactly one must)",
        winners.len()
    );
    for (n, result) in results.iter().enumerate() {
        if let Err(e) = result {
            ensure!(
                *e.kind() == wharf::ErrorKind::AlreadyExists,
                "a losing write-new failed with {e}, not already-exists"
            );
            let _ = n;
        }
    }
    cx.expect_contents(&key, &body(winners[0] as u8)).await
}

async fn urls_expiring(cx: &Ctx<'_>) -> Check {
    let key = format!("{}a file", cx.scope("url"));
    let data = pattern(70_000, 7);
    cx.put(&key, &data).await?;
    let fetch = async |url: &str| {
        wharf::http_get(url, cx.remote.tls_trust(), 1 << 20)
            .await
            .map_err(|e| format!("fetching the URL: {e}"))
    };
    let url = cx
        .remote
        .presign(&key, wharf::HttpMethod::Get, 60)
        .await
        .map_err(|e| format!("presign: {e}"))?;
    ensure!(
        url.expires_in.is_some_and(|e| e >= 60),
        "a URL asked to last 60 s says it lasts {:?}",
        url.expires_in
    );
    let (status, body) = fetch(&url.url).await?;
    ensure!(status == 200, "a plain GET of the URL got HTTP {status}");
    ensure!(
        body == data,
        "a plain GET of the URL got other bytes ({} of {})",
        body.len(),
        data.len()
    );
    let short = cx
        .remote
        .presign(&key, wharf::HttpMethod::Get, 2)
        .await
        .map_err(|e| format!("presign: {e}"))?;
    match short.expires_in {
        // The backend's links last longer than asked (Dropbox: 4 hours) and
        // it says so; there is no expiry to wait for here.
        Some(lasts) if lasts > 2 => Ok(()),
        _ => {
            tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
            let (status, _) = fetch(&short.url).await?;
            ensure!(
                (400..500).contains(&status),
                "a URL that expired got HTTP {status}, not a refusal"
            );
            Ok(())
        }
    }
}

async fn urls_public(cx: &Ctx<'_>) -> Check {
    let key = format!("{}a file", cx.scope("url"));
    cx.put(&key, b"published").await?;
    let url = cx
        .remote
        .presign(&key, wharf::HttpMethod::Get, 60)
        .await
        .map_err(|e| format!("presign: {e}"))?;
    ensure!(url.expires_in.is_none(), "a public URL says it expires");
    ensure!(
        url.url
            .ends_with(&wharf::percent_encode(&key).replace("%2F", "/")),
        "the public URL {:?} does not end with the key",
        url.url
    );
    match cx.remote.presign(&key, wharf::HttpMethod::Put, 60).await {
        Err(e) if *e.kind() == wharf::ErrorKind::Unsupported => Ok(()),
        other => Err(format!(
            "a PUT URL of a public store gave {other:?}, not unsupported"
        )),
    }
}

macro_rules! case {
    ($group:ident, $name:literal, [$($need:ident),*], $run:ident) => {
        Case { group: Group::$group, name: $name, needs: &[$(Need::$need),*], run: |cx| Box::pin($run(cx)) }
    };
}

/// The whole suite, in the order it runs.
pub fn all_cases() -> Vec<Case> {
    vec![
        case!(Keys, "unicode", [], key_unicode),
        case!(Keys, "spaces", [], key_spaces),
        case!(Keys, "percent signs", [], key_percent),
        case!(Keys, "plus signs", [], key_plus),
        case!(Keys, "hash signs", [], key_hash),
        case!(Keys, "question marks", [], key_question),
        case!(Keys, "punctuation", [], key_punctuation),
        case!(Keys, "quotes and backslash", [], key_quotes_backslash),
        case!(Keys, "segments of dots", [], key_dots),
        case!(Keys, "30 levels deep", [], key_deep),
        case!(Keys, "a 200-byte segment", [], key_long_segment),
        case!(Keys, "the maximum length, 1024 bytes", [], key_max_length),
        case!(InvalidKeys, "empty key", [], invalid_empty),
        case!(InvalidKeys, "leading slash", [], invalid_leading_slash),
        case!(InvalidKeys, "trailing slash", [], invalid_trailing_slash),
        case!(InvalidKeys, "empty segment", [], invalid_empty_segment),
        case!(InvalidKeys, "dot segment", [], invalid_dot),
        case!(InvalidKeys, "dot-dot segment", [], invalid_dot_dot),
        case!(InvalidKeys, "NUL character", [], invalid_nul),
        case!(InvalidKeys, "1025 bytes", [], invalid_too_long),
        case!(
            InvalidKeys,
            "invalid list prefixes",
            [],
            invalid_list_prefix
        ),
        case!(
            InvalidKeys,
            "invalid copy keys",
            [],
            invalid_copy_destination
        ),
        case!(Objects, "empty object", [], object_empty),
        case!(Objects, "small object", [], object_small),
        case!(
            Objects,
            "17 MiB streamed both ways",
            [],
            object_large_streamed
        ),
        case!(Objects, "odd and empty chunks", [], object_odd_chunks),
        case!(Objects, "overwrite", [], object_overwrite),
        case!(Objects, "stat key and size", [], object_stat_fields),
        case!(
            Objects,
            "last-modified",
            [LastModified],
            object_last_modified
        ),
        case!(Objects, "etag changes with content", [Etag], object_etag),
        case!(
            Objects,
            "etag is what describe declares",
            [Describe, Etag],
            object_etag_as_declared
        ),
        case!(
            Objects,
            "hashes on request match the bytes",
            [Describe],
            object_hashes_on_request
        ),
        case!(
            Objects,
            "hash: unknown kind, missing key",
            [Describe],
            object_hash_refusals
        ),
        case!(Objects, "content type", [ContentType], object_content_type),
        case!(
            Objects,
            "user metadata",
            [UserMetadata],
            object_user_metadata
        ),
        case!(Objects, "listed sizes", [], object_list_sizes),
        case!(Objects, "two readers at once", [], object_two_readers),
        case!(Ranges, "from the start", [RangedRead], range_start),
        case!(Ranges, "in the middle", [RangedRead], range_middle),
        case!(Ranges, "a suffix", [RangedRead], range_suffix),
        case!(
            Ranges,
            "from an offset to the end",
            [RangedRead],
            range_from
        ),
        case!(Ranges, "past the end", [RangedRead], range_past_end),
        case!(
            Ranges,
            "overhanging the end",
            [RangedRead],
            range_overhanging
        ),
        case!(
            Ranges,
            "suffix longer than the object",
            [RangedRead],
            range_suffix_longer
        ),
        case!(Ranges, "zero length", [RangedRead], range_zero_length),
        case!(
            Ranges,
            "of an empty object",
            [RangedRead],
            range_empty_object
        ),
        case!(
            Ranges,
            "across chunk boundaries",
            [RangedRead],
            range_across_chunks
        ),
        case!(
            Ranges,
            "refused without the capability",
            [NoRangedRead],
            range_unsupported
        ),
        case!(Delete, "removes the object", [], delete_removes),
        case!(Delete, "missing key succeeds", [], delete_missing_succeeds),
        case!(Delete, "twice succeeds", [], delete_twice),
        case!(Delete, "keeps keys below it", [], delete_keeps_keys_below),
        case!(Delete, "keeps siblings", [], delete_keeps_siblings),
        case!(
            Delete,
            "many keys in one call",
            [DeleteMany],
            delete_many_keys
        ),
        case!(
            Delete,
            "many keys: an invalid key fails alone",
            [DeleteMany],
            delete_many_invalid_key_alone
        ),
        case!(List, "unused prefix is empty", [], list_unused_prefix),
        case!(List, "prefix ending mid-name", [], list_partial_segment),
        case!(
            List,
            "without delimiter lists all below",
            [],
            list_recursive
        ),
        case!(
            List,
            "delimiter folds common prefixes",
            [ListDelimiter],
            list_delimiter
        ),
        case!(
            List,
            "delimiter with a partial prefix",
            [ListDelimiter],
            list_delimiter_partial
        ),
        case!(List, "byte order", [], list_byte_order),
        case!(List, "1100 keys over several pages", [], list_pages),
        case!(
            List,
            "delimiter over several pages",
            [ListDelimiter],
            list_pages_delimiter
        ),
        case!(List, "pending writes are not listed", [], list_after_write),
        case!(
            Atomicity,
            "invisible before finish",
            [],
            atomic_invisible_before_finish
        ),
        case!(
            Atomicity,
            "abort leaves nothing",
            [],
            atomic_abort_leaves_nothing
        ),
        case!(
            Atomicity,
            "dropped writer leaves nothing",
            [],
            atomic_drop_leaves_nothing
        ),
        case!(
            Atomicity,
            "abandoned writes leave nothing in the directory",
            [GrantedDirectory],
            atomic_abandoned_writes_leave_no_trace
        ),
        case!(
            Atomicity,
            "old object stays until finish",
            [],
            atomic_overwrite_in_progress
        ),
        case!(Atomicity, "abort without writing", [], atomic_abort_twice),
        case!(
            Atomicity,
            "aborted overwrite keeps the old object",
            [],
            atomic_empty_write_then_abort
        ),
        case!(Copy, "creates an identical object", [Copy], copy_creates),
        case!(Copy, "overwrites the destination", [Copy], copy_overwrites),
        case!(
            Copy,
            "missing source is not-found",
            [Copy],
            copy_missing_source
        ),
        case!(Copy, "17 MiB object", [Copy], copy_large),
        case!(
            Copy,
            "refused without the capability",
            [NoCopy],
            copy_unsupported
        ),
        case!(Errors, "read of a missing key", [], error_read_missing),
        case!(Errors, "stat of a missing key", [], error_stat_missing),
        case!(Errors, "a prefix is not an object", [], error_stat_prefix),
        case!(
            Errors,
            "messages say what went wrong",
            [],
            error_messages_say_something
        ),
        case!(
            Errors,
            "writes after a finished write",
            [],
            error_write_after_finish
        ),
        case!(
            Errors,
            "unknown and missing options are invalid-config",
            [],
            error_invalid_config
        ),
        case!(
            Concurrency,
            "4 writers then 4 readers at once",
            [],
            parallel_writers_and_readers
        ),
        case!(
            Concurrency,
            "3 readers beside 3 writers at once",
            [],
            readers_beside_writers
        ),
        case!(
            Concurrency,
            "a read feeding a write",
            [],
            interleaved_read_and_write
        ),
        case!(
            Layout,
            "a key can also be a prefix",
            [KeyAndPrefix],
            layout_key_and_prefix
        ),
        case!(
            Layout,
            "a key cannot also be a prefix",
            [NoKeyAndPrefix],
            layout_no_key_and_prefix
        ),
        case!(
            Layout,
            "letter case is significant",
            [CaseSensitive],
            layout_case_sensitive
        ),
        case!(
            Layout,
            "letter case is ignored",
            [CaseInsensitive],
            layout_case_insensitive
        ),
        case!(
            CreateOnly,
            "a taken key is refused",
            [CreateOnly],
            create_only_refuses_a_taken_key
        ),
        case!(
            CreateOnly,
            "of six racing writers exactly one wins",
            [CreateOnly],
            create_only_race
        ),
        case!(
            Urls,
            "a plain client fetches it, until it expires",
            [ExpiringUrls],
            urls_expiring
        ),
        case!(Urls, "public addresses", [PublicUrls], urls_public),
    ]
}
