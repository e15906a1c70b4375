//! The S3 plugin's options, declared once, and the provider presets.

use wharf_plugin::{
    option as spec, AliasMeaning, AliasTranslation, Error, OptionAlias, OptionSpec, Options, Result,
};

/// The providers with presets. Each sets what that provider needs; all
/// speak the same S3 API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Aws,
    Cloudflare,
    Backblaze,
    DigitalOcean,
    Scaleway,
    Wasabi,
    Minio,
    Other,
}

impl Provider {
    fn parse(text: &str) -> Option<Provider> {
        Some(match text.to_ascii_lowercase().as_str() {
            "aws" => Provider::Aws,
            "cloudflare" | "r2" => Provider::Cloudflare,
            "backblaze" | "b2" => Provider::Backblaze,
            "digitalocean" | "do" => Provider::DigitalOcean,
            "scaleway" => Provider::Scaleway,
            "wasabi" => Provider::Wasabi,
            "minio" => Provider::Minio,
            "other" => Provider::Other,
            _ => return None,
        })
    }

    /// The provider an endpoint belongs to, so that a Django-style setup
    /// (keys, bucket, endpoint URL) needs no `provider` option.
    fn detect(endpoint: Option<&str>) -> Provider {
        let Some(endpoint) = endpoint else {
            return Provider::Aws;
        };
        let host = endpoint.to_ascii_lowercase();
        [
            ("r2.cloudflarestorage.com", Provider::Cloudflare),
            ("backblazeb2.com", Provider::Backblaze),
            ("digitaloceanspaces.com", Provider::DigitalOcean),
            ("scw.cloud", Provider::Scaleway),
            ("wasabisys.com", Provider::Wasabi),
            ("amazonaws.com", Provider::Aws),
        ]
        .iter()
        .find(|(suffix, _)| host.contains(suffix))
        .map_or(Provider::Other, |(_, provider)| *provider)
    }

    /// The region to sign with when none is given. R2 signs with `auto`.
    fn default_region(self) -> &'static str {
        match self {
            Provider::Cloudflare => "auto",
            _ => "us-east-1",
        }
    }
}

/// How an S3 remote is configured.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct S3Config {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub bucket: String,
    pub region: String,
    pub provider: Provider,
    /// `https` or `http`.
    pub scheme: String,
    /// `host` or `host:port` of the endpoint.
    pub authority: String,
    /// Whether the bucket goes in the path (`/bucket/key`) rather than the
    /// host name (`bucket.host`).
    pub path_style: bool,
    /// A root inside the bucket, ending in `/` unless empty.
    pub prefix: String,
    pub part_size: usize,
    /// Over https, objects of a known size above `part_size` and up to
    /// this go in one streamed PUT (see `writer.rs`).
    pub upload_cutoff: u64,
    /// Objects above this size are copied in parts (UploadPartCopy).
    pub copy_cutoff: u64,
    pub upload_concurrency: usize,
    pub storage_class: Option<String>,
    pub acl: Option<String>,
    pub unsigned_payload: bool,
}

/// The smallest part S3 accepts (except the last).
pub const MIN_PART_SIZE: usize = 5 << 20;
/// The largest part S3 accepts.
pub const MAX_PART_SIZE: usize = 5 << 30;

impl S3Config {
    /// Every option the S3 plugin accepts, with its help.
    pub fn options() -> Vec<OptionSpec> {
        vec![
            spec("access_key_id", "The access key ID (AWS_ACCESS_KEY_ID, django-storages' access_key).", true, false, None),
            spec("secret_access_key", "The secret access key that goes with access_key_id.", true, true, None),
            spec("session_token", "A session token, for temporary credentials only.", false, true, None),
            spec("bucket", "The bucket that holds the objects.", true, false, None),
            spec("region", "The region to sign for, e.g. eu-west-1. Default: from the provider (auto for Cloudflare R2, else us-east-1).", false, false, None),
            spec("endpoint", "The endpoint URL for S3-compatible services, e.g. https://<account>.r2.cloudflarestorage.com or http://127.0.0.1:9000. Empty for AWS.", false, false, None),
            spec("provider", "AWS, Cloudflare, Backblaze, DigitalOcean, Scaleway, Wasabi, Minio or Other. Default: detected from the endpoint.", false, false, None),
            spec("force_path_style", "Put the bucket in the path (https://host/bucket/key) instead of the host name. Default: true with an endpoint, false for AWS.", false, false, None),
            spec("prefix", "A root inside the bucket: keys are stored under it, e.g. media/.", false, false, Some("")),
            spec("part_size", "Size of each multipart upload part in bytes (at least 5 MiB); objects up to this size go in one PUT.", false, false, Some("5242880")),
            spec("upload_cutoff", "Over https, an object whose size is known in advance and at most this many bytes goes in one PUT, streamed as it is written (the payload unsigned, TLS guarding it, the ETag checked against the MD5 of what was sent); a larger one, or any over plain http, in parts of part_size.", false, false, Some("209715200")),
            spec("copy_cutoff", "Server-side copies of objects above this size in bytes go in parts (CopyObject stops at 5 GiB).", false, false, Some("4999610368")),
            spec("upload_concurrency", "How many parts of one upload may be in memory at once: the one being filled and those sent but not yet answered. Default: 3 over https (15 MiB at the default part size), 2 over plain http (10 MiB).", false, false, None),
            spec("storage_class", "A storage class for new objects, e.g. STANDARD_IA.", false, false, None),
            spec("acl", "A canned ACL for new objects, e.g. private or public-read.", false, false, None),
            spec("unsigned_payload", "Sign requests with UNSIGNED-PAYLOAD instead of the body's SHA-256 (only over https).", false, false, Some("false")),
        ]
    }

    /// The names other tools give these options, so their configurations
    /// work as they are: django-storages' S3 storage (its `OPTIONS` keys,
    /// the `AWS_S3_*` settings without prefix) and rclone's S3 backend.
    pub fn aliases() -> Vec<OptionAlias> {
        const DJANGO: &str = "django-storages";
        let same = |name: &str, origin: &str, option: &str| OptionAlias {
            name: name.into(),
            origin: origin.into(),
            meaning: AliasMeaning::SameAs(option.into()),
        };
        let mut aliases = vec![
            same("access_key", DJANGO, "access_key_id"),
            same("secret_key", DJANGO, "secret_access_key"),
            same("security_token", DJANGO, "session_token"),
            same("bucket_name", DJANGO, "bucket"),
            same("endpoint_url", DJANGO, "endpoint"),
            same("region_name", DJANGO, "region"),
            same("location", DJANGO, "prefix"),
            same("default_acl", DJANGO, "acl"),
            OptionAlias {
                name: "addressing_style".into(),
                origin: DJANGO.into(),
                meaning: AliasMeaning::Translated(vec![
                    AliasTranslation {
                        when: "path".into(),
                        option: "force_path_style".into(),
                        value: "true".into(),
                    },
                    AliasTranslation {
                        when: "virtual".into(),
                        option: "force_path_style".into(),
                        value: "false".into(),
                    },
                    // `auto` (boto's default) leaves the choice to the
                    // provider preset, as it does without the setting.
                    AliasTranslation {
                        when: "auto".into(),
                        option: String::new(),
                        value: String::new(),
                    },
                ]),
            },
            same("chunk_size", "rclone", "part_size"),
        ];
        // Settings for the URLs and files Django makes, not for where
        // objects are stored.
        for name in [
            "custom_domain",
            "querystring_auth",
            "querystring_expire",
            "file_overwrite",
            "url_protocol",
            "max_memory_size",
            "object_parameters",
            "signature_version",
            "gzip",
            "gzip_content_types",
            "use_ssl",
            "cloudfront_key",
            "cloudfront_key_id",
            "proxies",
            "transfer_config",
            "client_config",
            "use_threads",
        ] {
            aliases.push(OptionAlias {
                name: name.into(),
                origin: DJANGO.into(),
                meaning: AliasMeaning::Ignored(
                    "a django-storages setting for the URLs and files Django makes; Wharf does \
                     not need it"
                        .into(),
                ),
            });
        }
        aliases
    }

    /// Reads and checks the configuration.
    pub fn from_options(options: &Options) -> Result<Self> {
        let endpoint = options.get("endpoint").filter(|e| !e.is_empty());
        let provider = match options.get("provider").filter(|p| !p.is_empty()) {
            Some(name) => Provider::parse(name).ok_or_else(|| {
                Error::invalid_config(format!(
                    "option 'provider' = '{name}' is not one of AWS, Cloudflare, Backblaze, DigitalOcean, Scaleway, Wasabi, Minio, Other"
                ))
            })?,
            None => Provider::detect(endpoint),
        };
        let region = options
            .get("region")
            .filter(|r| !r.is_empty())
            .unwrap_or(provider.default_region())
            .to_owned();
        let bucket = options.required("bucket")?.to_owned();
        let path_style = options
            .parse::<bool>("force_path_style")?
            .unwrap_or(endpoint.is_some());
        let (scheme, authority) = match endpoint {
            Some(url) => {
                let (scheme, rest) = url.split_once("://").ok_or_else(|| {
                    Error::invalid_config(format!(
                        "option 'endpoint' = '{url}' needs a scheme, e.g. https://{url}"
                    ))
                })?;
                let authority = rest.trim_end_matches('/');
                if authority.is_empty() || authority.contains('/') {
                    return Err(Error::invalid_config(format!(
                        "option 'endpoint' = '{url}' must be scheme://host[:port] with no path; put the bucket in 'bucket'"
                    )));
                }
                (scheme.to_ascii_lowercase(), authority.to_owned())
            }
            None => ("https".to_owned(), format!("s3.{region}.amazonaws.com")),
        };
        let authority = if path_style {
            authority
        } else {
            format!("{bucket}.{authority}")
        };
        let part_size: usize = options.parse("part_size")?.unwrap_or(5 << 20);
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part_size) {
            return Err(Error::invalid_config(format!(
                "option 'part_size' = {part_size} must be between {MIN_PART_SIZE} (5 MiB) and {MAX_PART_SIZE} (5 GiB)"
            )));
        }
        let mut prefix = options
            .get("prefix")
            .unwrap_or("")
            .trim_matches('/')
            .to_owned();
        if !prefix.is_empty() {
            prefix.push('/');
        }
        let unsigned_payload = options.parse::<bool>("unsigned_payload")?.unwrap_or(false);
        let upload_concurrency = options
            .parse("upload_concurrency")?
            .unwrap_or(if scheme == "https" { 3 } else { 2 })
            .max(1);
        if unsigned_payload && scheme != "https" {
            return Err(Error::invalid_config(
                "option 'unsigned_payload' needs an https endpoint: over plain http the body must be signed",
            ));
        }
        Ok(S3Config {
            access_key_id: options.required("access_key_id")?.to_owned(),
            secret_access_key: options.required("secret_access_key")?.to_owned(),
            session_token: options
                .get("session_token")
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            bucket,
            region,
            provider,
            scheme,
            authority,
            path_style,
            prefix,
            part_size,
            // rclone's: 200 MiB.
            upload_cutoff: options.parse("upload_cutoff")?.unwrap_or(200 << 20),
            copy_cutoff: options.parse("copy_cutoff")?.unwrap_or(4_999_610_368),
            // Over https (a provider across the internet) three: while one
            // part is answered the next is already on its way, so the link
            // never waits a round trip between parts. Over plain http (the
            // same machine or its network, round trips of microseconds) two,
            // one sent while the next fills: 384 MiB to SeaweedFS on
            // loopback took 3.13-3.32 s with two and 3.24-4.14 s with three
            // (alternating runs), at 33-35 MiB of peak RSS against 38-40.
            upload_concurrency,
            storage_class: options
                .get("storage_class")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            acl: options
                .get("acl")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            unsigned_payload,
        })
    }
}
