//! Signed requests to the S3 REST API and their retries.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
    SignatureLocation, SigningInstructions, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use sha2::{Digest, Sha256};

/// Bodies of at least this many bytes are signed through their Content-MD5
/// rather than their SHA-256 (see [`S3Core::signed`]).
const MD5_BOUND_BODY: usize = 1 << 20;
use wharf_plugin::http::{Request, Response};
use wharf_plugin::{time, Error, Result};

use crate::config::S3Config;

/// What a request's signature says of its body.
enum Payload<'a> {
    /// The body, all of it: bound to the signature (see
    /// [`S3Core::bound`]) unless the user chose UNSIGNED-PAYLOAD.
    Body(&'a [u8]),
    /// A body sent as it comes: UNSIGNED-PAYLOAD.
    Unsigned,
}

/// How many times a request is tried when the failure is transient.
const ATTEMPTS: u32 = 5;
/// The first wait before a retry; each later one doubles (with jitter).
const RETRY_BASE: Duration = Duration::from_millis(100);
/// Error bodies and listings are small; anything bigger is refused.
pub const MAX_XML: usize = 8 << 20;

/// The configured bucket and the signed calls on it.
pub struct S3Core {
    pub config: S3Config,
}

impl S3Core {
    /// The key as stored: the configured prefix, then the key.
    pub fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.config.prefix)
    }

    /// The request path of the bucket: `/bucket` in path style, else empty.
    pub fn bucket_path(&self) -> String {
        if self.config.path_style {
            format!("/{}", encode(&self.config.bucket, false))
        } else {
            String::new()
        }
    }

    /// The request path of `key`.
    pub fn object_path(&self, key: &str) -> String {
        format!(
            "{}/{}",
            self.bucket_path(),
            encode(&self.full_key(key), false)
        )
    }

    /// The `x-amz-copy-source` value for `key` in this bucket.
    pub fn copy_source(&self, key: &str) -> String {
        format!(
            "/{}/{}",
            encode(&self.config.bucket, false),
            encode(&self.full_key(key), false)
        )
    }

    /// Sends a signed request, retrying transient failures with jittered
    /// exponential backoff. `body` is sent (and hashed) as is; `query` is
    /// encoded here.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Response> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = self.signed(method, path, query, headers, body)?;
            let outcome = request.send(body);
            let retry = match &outcome {
                Err(Error::Unavailable(_)) => true,
                Ok(response) => matches!(response.status(), 429 | 500 | 502 | 503 | 504),
                Err(_) => false,
            };
            if !retry || attempt >= ATTEMPTS {
                return outcome;
            }
            time::sleep(time::backoff(RETRY_BASE, attempt));
        }
    }

    /// Sends the head of a request signed for `body`, which the caller
    /// then writes ([`wharf_plugin::http::Upload::write_now`] as the
    /// network takes it) and keeps: no retries here, the caller retries
    /// with [`S3Core::send`] if the answer calls for it.
    pub fn start(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: &[u8],
    ) -> Result<wharf_plugin::http::Upload> {
        self.signed(method, path, query, &[], body)?
            .start_sized(body.len() as u64)
    }

    /// Sends the head of a PUT of `length` bytes whose body is written
    /// afterwards, as it comes ([`wharf_plugin::http::Upload::write`]).
    /// The payload is unsigned (its hash is not known before it is sent),
    /// so only over https, where TLS guards the bytes; no retries (the
    /// bytes are not kept).
    pub fn start_streamed(
        &self,
        path: &str,
        headers: &[(String, String)],
        length: u64,
    ) -> Result<wharf_plugin::http::Upload> {
        let mut headers = headers.to_vec();
        headers.push(("content-length".to_owned(), length.to_string()));
        self.signed_as("PUT", path, &[], &headers, Payload::Unsigned)?
            .start()
    }

    /// Builds the request and signs it with SigV4 (the S3 flavour: no double
    /// encoding, no path normalisation, the payload hash in
    /// x-amz-content-sha256).
    fn signed(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Request> {
        self.signed_as(method, path, query, headers, Payload::Body(body))
    }

    fn signed_as(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(String, String)],
        payload: Payload<'_>,
    ) -> Result<Request> {
        let config = &self.config;
        let mut path_and_query = if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        };
        if !query.is_empty() {
            let pairs: Vec<String> = query
                .iter()
                .map(|(k, v)| {
                    // Sub-resources go bare, as S3's documentation writes them.
                    if v.is_empty() && matches!(*k, "uploads" | "delete") {
                        k.to_string()
                    } else {
                        format!("{}={}", encode(k, true), encode(v, true))
                    }
                })
                .collect();
            path_and_query = format!("{path_and_query}?{}", pairs.join("&"));
        }
        let url = format!("{}://{}{}", config.scheme, config.authority, path_and_query);
        let mut headers = headers.to_vec();
        let payload = match payload {
            Payload::Unsigned => SignableBody::UnsignedPayload,
            Payload::Body(_) if config.unsigned_payload => SignableBody::UnsignedPayload,
            Payload::Body(body) => Self::bound(body, &mut headers),
        };
        // A large body is bound to the signature by its MD5 instead of
        // its SHA-256: Content-MD5 is a signed header, and the server
        // refuses a body that does not match it, so the body cannot be
        // changed on the way either; MD5 costs half of SHA-256 here
        // (in WebAssembly, without the CPU's SHA instructions).
        let mut settings = Self::settings();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let signable = SignableRequest::new(
            method,
            url.as_str(),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            payload,
        )
        .map_err(|e| Error::other(format!("cannot sign {method} {url}: {e}")))?;
        let instructions = self
            .sign(signable, settings)
            .map_err(|e| Error::other(format!("cannot sign {method} {url}: {e}")))?;
        let mut request = Request::new(method, &config.scheme, &config.authority, &path_and_query);
        for (name, value) in &headers {
            request = request.header(name, value.clone());
        }
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        Ok(request)
    }

    /// Binds `body` to the signature: a large one by its Content-MD5, a
    /// small one by its SHA-256.
    fn bound(body: &[u8], headers: &mut Vec<(String, String)>) -> SignableBody<'static> {
        if body.len() >= MD5_BOUND_BODY {
            // A large body is bound to the signature by its MD5 instead of
            // its SHA-256: Content-MD5 is a signed header, and the server
            // refuses a body that does not match it, so the body cannot be
            // changed on the way either; MD5 costs half of SHA-256 here
            // (in WebAssembly, without the CPU's SHA instructions).
            let md5 = crate::delete::base64(&wharf_md5::digest(body));
            headers.push(("content-md5".to_owned(), md5));
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Precomputed(hex::encode(Sha256::digest(body)))
        }
    }

    /// A URL for `method` on `key` with the signature in its query string
    /// (SigV4 presigning), good for `expires_in` seconds; made here, with no
    /// request. The payload is unsigned, as every presigned URL's is.
    pub fn presign(&self, method: &str, key: &str, expires_in: u64) -> Result<String> {
        let config = &self.config;
        let path = self.object_path(key);
        let url = format!("{}://{}{}", config.scheme, config.authority, path);
        let mut settings = Self::settings();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires_in));
        let signable = SignableRequest::new(
            method,
            url.as_str(),
            std::iter::empty(),
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| Error::other(format!("cannot sign a URL for {method} {url}: {e}")))?;
        let instructions = self
            .sign(signable, settings)
            .map_err(|e| Error::other(format!("cannot sign a URL for {method} {url}: {e}")))?;
        let query: Vec<String> = instructions
            .params()
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name, true), encode(value, true)))
            .collect();
        Ok(format!("{url}?{}", query.join("&")))
    }

    /// SigV4's settings for S3: no double encoding, no path normalisation.
    fn settings() -> SigningSettings {
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings
    }

    /// Signs `signable` with this store's credentials and region, now.
    fn sign(
        &self,
        signable: SignableRequest<'_>,
        settings: SigningSettings,
    ) -> std::result::Result<SigningInstructions, String> {
        let config = &self.config;
        let identity = Credentials::new(
            &config.access_key_id,
            &config.secret_access_key,
            config.session_token.clone(),
            None,
            "wharf",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&config.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| e.to_string())?
            .into_parts();
        Ok(instructions)
    }

    /// Turns an unsuccessful response into the contract's error (see
    /// `error.rs`). `what` names the operation and the key for the message.
    pub fn parse_error(&self, what: &str, response: Response) -> Error {
        crate::error::from_response(&self.config, what, response)
    }
}

/// Percent-encodes as SigV4 wants: everything but unreserved characters,
/// and `/` too unless it is a path.
pub fn encode(text: &str, slash_too: bool) -> String {
    wharf_plugin::http::percent_encode(text, !slash_too)
}
