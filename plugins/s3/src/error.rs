//! The one place where S3's errors become the contract's
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>):
//! whole responses that failed, and the per-key errors of DeleteObjects.

use wharf_plugin::http::Response;
use wharf_plugin::Error;

use crate::config::S3Config;

/// A failure as S3 describes it: the HTTP status (none for one key of a
/// DeleteObjects answer, whose status is the batch's), the error code and
/// message from the XML body, and Retry-After.
#[derive(Clone)]
pub struct S3Failure {
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub retry_after_ms: Option<u64>,
}

/// Reads an unsuccessful response's XML body (when there is one) and maps
/// it. `what` names the operation and the key for the message.
pub fn from_response(config: &S3Config, what: &str, response: Response) -> Error {
    to_error(config, what, failure_of(response))
}

/// What an unsuccessful response says: its status, Retry-After, and the
/// code and message of its XML body.
pub fn failure_of(mut response: Response) -> S3Failure {
    let body = response.read_all(64 * 1024).unwrap_or_default();
    let (code, message) = error_fields(&body);
    S3Failure {
        status: Some(response.status()),
        code,
        message,
        retry_after_ms: response
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| s * 1000),
    }
}

/// The contract's error for `failure`.
pub fn to_error(config: &S3Config, what: &str, failure: S3Failure) -> Error {
    let S3Failure {
        status,
        code,
        message,
        retry_after_ms,
    } = failure;
    let detail = match (&code, &message, status) {
        (Some(code), Some(message), _) => format!("{code}: {message}"),
        (Some(code), None, _) => code.clone(),
        (None, _, Some(status)) => format!("HTTP {status}"),
        (None, _, None) => "no details".to_owned(),
    };
    let bucket = &config.bucket;
    match (status.unwrap_or(0), code.as_deref()) {
        (_, Some("NoSuchKey")) | (404, None) => Error::not_found(format!("{what}: no such object")),
        // If-None-Match: * on a create-only write: an object is there.
        (412, _) | (_, Some("PreconditionFailed")) => Error::already_exists(format!(
            "{what}: an object is already there, and this write was only to create one"
        )),
        (409, Some("ConditionalRequestConflict")) => Error::already_exists(format!(
            "{what}: another write of this key was finishing at the same moment, and this one \
             was only to create it"
        )),
        (_, Some("NoSuchBucket")) => Error::invalid_config(format!(
            "{what}: bucket '{bucket}' does not exist at {}; check option 'bucket' (and 'endpoint')",
            config.authority
        )),
        (_, Some("SignatureDoesNotMatch")) => Error::permission_denied(format!(
            "{what}: the server refused the signature ({detail}); check secret_access_key \
             (and region = '{}')",
            config.region
        )),
        (_, Some("InvalidAccessKeyId")) => Error::permission_denied(format!(
            "{what}: the server does not know this access key ({detail}); check access_key_id"
        )),
        (_, Some("ExpiredToken" | "InvalidToken")) => Error::permission_denied(format!(
            "{what}: {detail}; check session_token, or drop it for long-term keys"
        )),
        (_, Some("AccessDenied")) => Error::permission_denied(format!(
            "{what}: access denied ({detail}); check that the key may use bucket '{bucket}'"
        )),
        // HEAD answers carry no error body, so the cause is unknown.
        (403, None) => Error::permission_denied(format!(
            "{what}: the server refused the request (HTTP 403, no details); check access_key_id \
             and secret_access_key, and that the key may use bucket '{bucket}'"
        )),
        (_, Some("SlowDown")) | (429, _) => {
            Error::rate_limited(format!("{what}: {detail}"), retry_after_ms)
        }
        (500 | 502 | 503 | 504, _) | (_, Some("InternalError" | "ServiceUnavailable")) => {
            Error::unavailable(format!("{what}: the server failed ({detail}); retry later"))
        }
        (301 | 307 | 400, Some("PermanentRedirect" | "AuthorizationHeaderMalformed")) => {
            Error::invalid_config(format!(
                "{what}: {detail}; check option 'region' or 'endpoint'"
            ))
        }
        (400, Some("InvalidArgument" | "KeyTooLongError")) => {
            Error::invalid_key(format!("{what}: {detail}"))
        }
        _ => Error::other(format!("{what}: {detail}")),
    }
}

/// The `Code` and `Message` of an S3 error body.
pub fn error_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(text) = std::str::from_utf8(body) else {
        return (None, None);
    };
    let Ok(doc) = roxmltree::Document::parse(text) else {
        return (None, None);
    };
    let field = |name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name(name))
            .and_then(|n| n.text())
            .map(str::to_owned)
    };
    (field("Code"), field("Message"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_error_bodies() {
        let body =
            b"<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>gone</Message></Error>";
        assert_eq!(
            error_fields(body),
            (Some("NoSuchKey".into()), Some("gone".into()))
        );
        assert_eq!(error_fields(b"not xml"), (None, None));
    }
}
