//! Wharf's S3-compatible backend: the S3 REST API through `wasi:http`,
//! signed with SigV4. See `docs.md` for the options and provider presets.

mod conditions;
mod config;
mod core;
mod delete;
mod error;
mod lister;
mod meta;
mod reader;
mod writer;

use std::rc::Rc;

use wharf_plugin::{
    Access, ByteRange, Capabilities, Error, EtagKind, HttpMethod, NetworkAccess, NetworkProtocol,
    ObjectMeta, OptionAlias, Options, Plugin, PluginInfo, PresignedUrl, Result, Store,
    StoreDescription, UrlSupport, WriteOptions,
};

pub use crate::config::{Provider, S3Config};
use crate::core::{S3Core, MAX_XML};
use crate::error::error_fields;
pub use crate::lister::S3Lister;
pub use crate::reader::S3Reader;
pub use crate::writer::S3Writer;

/// The plugin: describes itself and opens [`S3Backend`]s.
pub struct S3Plugin;

/// One bucket (and optional prefix in it).
pub struct S3Backend {
    core: Rc<S3Core>,
    /// Whether the server honours `If-None-Match: *` (probed once).
    conditions: conditions::Honoured,
}

/// The longest a presigned URL can work: SigV4 allows a week.
const MAX_URL_EXPIRY: u64 = 7 * 24 * 3600;

impl Plugin for S3Plugin {
    type Store = S3Backend;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "s3".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description:
                "Amazon S3 and S3-compatible services (R2, B2, Spaces, Scaleway, Wasabi, MinIO…)"
                    .into(),
            options: S3Config::options(),
            capabilities: Capabilities {
                ranged_read: true,
                list_delimiter: true,
                copy: true,
                content_type: true,
                user_metadata: true,
                last_modified: true,
                etag: true,
                case_insensitive: false,
                key_and_prefix: true,
            },
            access: vec![Access::Network(NetworkAccess {
                protocol: NetworkProtocol::Http,
                // The endpoint if one is set, else the AWS host of the
                // bucket in its region (us-east-1 when none is given).
                endpoints: vec![
                    "{endpoint}".into(),
                    "https://{bucket}.s3.{region}.amazonaws.com".into(),
                    "https://{bucket}.s3.us-east-1.amazonaws.com".into(),
                ],
                reason: "the S3 endpoint that holds the bucket".into(),
            })],
        }
    }

    fn option_aliases() -> Vec<OptionAlias> {
        S3Config::aliases()
    }

    fn open(options: Options) -> Result<S3Backend> {
        Ok(S3Backend {
            core: Rc::new(S3Core {
                config: S3Config::from_options(&options)?,
            }),
            conditions: Default::default(),
        })
    }
}

/// HEAD of `key`.
pub(crate) fn stat(core: &S3Core, key: &str) -> Result<ObjectMeta> {
    let response = core.send("HEAD", &core.object_path(key), &[], &[], b"")?;
    match response.status() {
        200 => Ok(meta::from_headers(key, &response)),
        _ => Err(core.parse_error(&format!("stat {key:?}"), response)),
    }
}

impl Store for S3Backend {
    type Reader = S3Reader;
    type Writer = S3Writer;
    type Lister = S3Lister;

    fn stat(&self, key: &str) -> Result<ObjectMeta> {
        stat(&self.core, key)
    }

    fn read(&self, key: &str, range: Option<ByteRange>) -> Result<S3Reader> {
        S3Reader::open(&self.core, key, range)
    }

    fn write(&self, key: &str, options: WriteOptions) -> Result<S3Writer> {
        Ok(S3Writer::new(self.core.clone(), key, options))
    }

    fn delete(&self, key: &str) -> Result<()> {
        delete::delete(&self.core, key)
    }

    /// What this plugin writes: one PUT up to `part_size`, parts of
    /// `part_size` above it, so S3's ETag is the MD5 or its multipart form.
    fn describe(&self) -> StoreDescription {
        StoreDescription {
            etag: EtagKind::MultipartMd5(self.core.config.part_size as u64),
            hashes: vec!["md5".into()],
            // SigV4 allows a week.
            urls: UrlSupport::Expiring(MAX_URL_EXPIRY),
            // If-None-Match: *, once the server was seen to honour it.
            create_only: true,
            // Every body goes with its Content-MD5 or its SHA-256 in the
            // signature (S3Core::signed), which the server checks, unless
            // the user chose UNSIGNED-PAYLOAD.
            checked_writes: !self.core.config.unsigned_payload,
        }
    }

    fn presign(&self, key: &str, method: HttpMethod, expires_in: u64) -> Result<PresignedUrl> {
        let method = match method {
            HttpMethod::Get => "GET",
            HttpMethod::Head => "HEAD",
            HttpMethod::Put => "PUT",
        };
        let expires_in = expires_in.min(MAX_URL_EXPIRY);
        Ok(PresignedUrl {
            url: self.core.presign(method, key, expires_in)?,
            expires_in: Some(expires_in),
        })
    }

    fn write_new(&self, key: &str, options: WriteOptions) -> Result<S3Writer> {
        conditions::check_honoured(&self.core, &self.conditions)?;
        Ok(S3Writer::create_only(self.core.clone(), key, options))
    }

    /// The MD5 is the ETag of an object written in one request; an object
    /// written in parts (or encrypted with SSE-KMS/SSE-C) has none.
    fn hash(&self, key: &str, _kind: &str) -> Result<String> {
        let meta = stat(&self.core, key)?;
        let etag = meta.etag.unwrap_or_default();
        let etag = etag.trim_matches('"').to_ascii_lowercase();
        if etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(etag);
        }
        Err(Error::unsupported(format!(
            "{key:?} has no MD5 in S3: its ETag {etag:?} is not one (an object uploaded in parts \
             or encrypted with a customer key)"
        )))
    }

    fn delete_many(&self, keys: &[&str]) -> Vec<Result<()>> {
        delete::delete_many(&self.core, keys)
    }

    fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<S3Lister> {
        Ok(S3Lister::new(
            self.core.clone(),
            prefix,
            delimiter.is_some(),
        ))
    }

    fn copy(&self, source: &str, destination: &str) -> Result<ObjectMeta> {
        let core = &self.core;
        let what = format!("copy {source:?} to {destination:?}");
        let meta = stat(core, source)?;
        if meta.size > core.config.copy_cutoff {
            // CopyObject stops at 5 GiB; larger objects are copied in parts,
            // with the source's type and metadata carried over by hand.
            let options = WriteOptions {
                content_type: meta.content_type.clone(),
                metadata: meta.metadata.clone(),
                size_hint: Some(meta.size),
            };
            S3Writer::new(core.clone(), destination, options).copy_from(source, meta.size)?;
            return stat(core, destination);
        }
        let headers = vec![("x-amz-copy-source".to_owned(), core.copy_source(source))];
        let mut response = core.send("PUT", &core.object_path(destination), &[], &headers, b"")?;
        if response.status() != 200 {
            return Err(core.parse_error(&what, response));
        }
        // CopyObject may answer 200 with an error in the body.
        let body = response.read_all(MAX_XML)?;
        if let (Some(code), message) = error_fields(&body) {
            return Err(Error::unavailable(format!(
                "{what}: {code}: {}",
                message.unwrap_or_default()
            )));
        }
        stat(core, destination)
    }
}

wharf_plugin::export_plugin!(S3Plugin);
