//! Talking to Dropbox: the access token (refreshed when it expires), the
//! three kinds of endpoint (RPC, content upload, content download), and the
//! retry rules every call shares.

use std::cell::RefCell;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use wasip2::clocks::monotonic_clock;
use wharf_plugin::http::{Request, Response};
use wharf_plugin::time;

use crate::config::{DropboxConfig, Endpoint};
use crate::error::{DropboxError, DropboxResult};

/// The most an answer in JSON may take (a list page of 2,000 entries is
/// well under 1 MiB).
const MAX_JSON: usize = 8 << 20;
/// Tries after the first, for rate limits and server errors.
const RETRIES: u32 = 3;
/// The first wait before retrying a server error; each later one doubles
/// (with jitter). A rate limit waits what Dropbox says instead.
const RETRY_BASE: Duration = Duration::from_millis(500);
/// The longest wait for a retry; a longer `Retry-After` is passed on to the
/// caller as rate-limited instead of stalling the call past its deadline.
const MAX_WAIT: Duration = Duration::from_secs(20);
/// Renew an access token this long before Dropbox says it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(300);

/// A store's connection to Dropbox.
pub struct DropboxCore {
    pub config: DropboxConfig,
    token: RefCell<Option<AccessToken>>,
}

struct AccessToken {
    value: String,
    /// Monotonic-clock nanoseconds after which it is renewed; `None` for a
    /// token given as an option (its expiry is unknown).
    renew_at: Option<u64>,
}

/// How a call's body is sent and its arguments passed.
enum Kind<'a> {
    /// JSON in, JSON out (api host).
    Rpc,
    /// Arguments in the `Dropbox-API-Arg` header, `body` as the content.
    Upload(&'a [u8]),
    /// Arguments in the header, the content in the answer.
    Download(Option<&'a str>),
}

impl DropboxCore {
    pub fn new(config: DropboxConfig) -> Self {
        let token = config.access_token.clone().map(|value| AccessToken {
            value,
            renew_at: None,
        });
        DropboxCore {
            config,
            token: RefCell::new(token),
        }
    }

    /// An RPC endpoint (`files/get_metadata`): JSON arguments, JSON answer.
    pub fn rpc<T: DeserializeOwned>(
        &self,
        what: &str,
        endpoint: &str,
        arg: &Value,
    ) -> DropboxResult<T> {
        let response = self.call(what, endpoint, arg, Kind::Rpc)?;
        json(what, response)
    }

    /// A content-upload endpoint (`files/upload`): `body` is the content.
    pub fn upload<T: DeserializeOwned>(
        &self,
        what: &str,
        endpoint: &str,
        arg: &Value,
        body: &[u8],
    ) -> DropboxResult<T> {
        let response = self.call(what, endpoint, arg, Kind::Upload(body))?;
        json(what, response)
    }

    /// A content-download endpoint (`files/download`), with an HTTP range.
    /// The answer's body is the content; 416 (a range past the end) is
    /// returned as is.
    pub fn download(
        &self,
        what: &str,
        endpoint: &str,
        arg: &Value,
        range: Option<&str>,
    ) -> DropboxResult<Response> {
        self.call(what, endpoint, arg, Kind::Download(range))
    }

    /// Sends one call, renewing the token once if Dropbox says it expired
    /// and retrying rate limits and server errors a bounded number of times.
    fn call(
        &self,
        what: &str,
        endpoint: &str,
        arg: &Value,
        kind: Kind<'_>,
    ) -> DropboxResult<Response> {
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            let token = self.access_token(what)?;
            let result = self.send_once(what, endpoint, arg, &kind, &token);
            let error = match result {
                Ok(response) => return Ok(response),
                Err(error) => error,
            };
            match &error {
                DropboxError::Auth { detail, .. }
                    if detail.starts_with("expired_access_token")
                        && !renewed
                        && self.can_refresh() =>
                {
                    renewed = true;
                    self.token.borrow_mut().take();
                    continue;
                }
                _ if error.is_transient() && attempt < RETRIES => {
                    let wait = match &error {
                        DropboxError::RateLimited { retry_after_ms, .. } => {
                            Duration::from_millis(retry_after_ms.unwrap_or(1000))
                        }
                        _ => time::backoff(RETRY_BASE, attempt + 1),
                    };
                    if wait > MAX_WAIT {
                        return Err(error);
                    }
                    attempt += 1;
                    time::sleep(wait);
                }
                _ => return Err(error),
            }
        }
    }

    fn send_once(
        &self,
        what: &str,
        endpoint: &str,
        arg: &Value,
        kind: &Kind<'_>,
        token: &str,
    ) -> DropboxResult<Response> {
        let host = match kind {
            Kind::Rpc => &self.config.api,
            Kind::Upload(_) | Kind::Download(_) => &self.config.content,
        };
        let mut request = request(host, &format!("/2/{endpoint}"))
            .header("authorization", format!("Bearer {token}"));
        let response = match kind {
            Kind::Rpc => {
                let body = serde_json::to_vec(arg).expect("JSON values serialize");
                request = request.header("content-type", "application/json");
                request.send(&body)?
            }
            Kind::Upload(body) => {
                request = request
                    .header("dropbox-api-arg", header_json(arg))
                    .header("content-type", "application/octet-stream");
                request.send(body)?
            }
            Kind::Download(range) => {
                request = request.header("dropbox-api-arg", header_json(arg));
                if let Some(range) = range {
                    request = request.header("range", *range);
                }
                request.send(b"")?
            }
        };
        match response.status() {
            200 | 206 => Ok(response),
            416 if matches!(kind, Kind::Download(_)) => Ok(response),
            _ => Err(error_of(what, response)),
        }
    }

    fn can_refresh(&self) -> bool {
        self.config.refresh_token.is_some()
    }

    /// The access token to send, obtained from the refresh token when there
    /// is none yet or it is about to expire.
    fn access_token(&self, what: &str) -> DropboxResult<String> {
        if let Some(token) = self.token.borrow().as_ref() {
            let fresh = token.renew_at.is_none_or(|at| monotonic_clock::now() < at);
            if fresh || !self.can_refresh() {
                return Ok(token.value.clone());
            }
        }
        let token = self.refresh(what)?;
        let value = token.value.clone();
        *self.token.borrow_mut() = Some(token);
        Ok(value)
    }

    /// `oauth2/token` with `grant_type=refresh_token`.
    fn refresh(&self, what: &str) -> DropboxResult<AccessToken> {
        let config = &self.config;
        let (Some(refresh_token), Some(app_key)) = (&config.refresh_token, &config.app_key) else {
            return Err(DropboxError::Auth {
                what: what.to_owned(),
                detail: "the access token expired and there is no refresh token (with app_key) to renew it".into(),
            });
        };
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("client_id", app_key.as_str()),
        ];
        if let Some(secret) = &config.app_secret {
            form.push(("client_secret", secret));
        }
        let body = form_encode(&form);
        let mut response = request(&config.api, "/oauth2/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .send(body.as_bytes())?;
        let status = response.status();
        let text = response.read_all(MAX_JSON)?;
        let parsed: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
        if status != 200 {
            let code = parsed["error"].as_str().unwrap_or("");
            let detail = parsed["error_description"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| String::from_utf8_lossy(&text).into_owned());
            return Err(match status {
                400 | 401 => DropboxError::Auth {
                    what: format!("{what} (renewing the access token)"),
                    detail: format!("{code}: {detail}"),
                },
                500.. => DropboxError::Server {
                    what: format!("{what} (renewing the access token)"),
                    status,
                    detail,
                },
                _ => DropboxError::BadResponse {
                    what: format!("{what} (renewing the access token)"),
                    detail: format!("HTTP {status}: {detail}"),
                },
            });
        }
        let Some(value) = parsed["access_token"].as_str() else {
            return Err(DropboxError::BadResponse {
                what: format!("{what} (renewing the access token)"),
                detail: "no access_token in the answer".into(),
            });
        };
        let lifetime = Duration::from_secs(parsed["expires_in"].as_u64().unwrap_or(14_400));
        let renew_in = lifetime.saturating_sub(EXPIRY_MARGIN).max(lifetime / 2);
        Ok(AccessToken {
            value: value.to_owned(),
            renew_at: Some(monotonic_clock::now() + renew_in.as_nanos() as u64),
        })
    }
}

fn request(host: &Endpoint, path: &str) -> Request {
    Request::new("POST", &host.scheme, &host.authority, path)
}

fn json<T: DeserializeOwned>(what: &str, mut response: Response) -> DropboxResult<T> {
    let body = response.read_all(MAX_JSON)?;
    serde_json::from_slice(&body).map_err(|e| DropboxError::BadResponse {
        what: what.to_owned(),
        detail: format!(
            "{e} in {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ),
    })
}

/// Reads Dropbox's error answer: 409 carries `error_summary` and the typed
/// `error`, 401/429 the same shape, 400 and 5xx plain text.
fn error_of(what: &str, mut response: Response) -> DropboxError {
    let status = response.status();
    let retry_after = response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let text = match response.read_all(64 * 1024) {
        Ok(text) => text,
        Err(e) => return DropboxError::Transport(e),
    };
    let parsed: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
    let summary = parsed["error_summary"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(&text).trim().to_owned());
    let what = what.to_owned();
    match status {
        409 if summary.contains("too_many_write_operations") => DropboxError::RateLimited {
            what,
            summary,
            retry_after_ms: Some(retry_after.unwrap_or(1) * 1000),
        },
        409 => DropboxError::Api {
            what,
            summary,
            error: parsed["error"].clone(),
        },
        401 | 403 => DropboxError::Auth {
            what,
            detail: summary,
        },
        429 => {
            let seconds = retry_after.or_else(|| parsed["error"]["retry_after"].as_u64());
            DropboxError::RateLimited {
                what,
                summary,
                retry_after_ms: Some(seconds.unwrap_or(1) * 1000),
            }
        }
        400 => DropboxError::BadRequest {
            what,
            detail: summary,
        },
        500.. => DropboxError::Server {
            what,
            status,
            detail: summary,
        },
        _ => DropboxError::BadResponse {
            what,
            detail: format!("HTTP {status}: {summary}"),
        },
    }
}

/// JSON for the `Dropbox-API-Arg` header, which must be ASCII: every other
/// character is written as a `\u` escape (UTF-16, as JSON has it).
pub fn header_json(arg: &Value) -> String {
    let text = serde_json::to_string(arg).expect("JSON values serialize");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() && c != '\u{7f}' {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| wharf_plugin::http::percent_encode(s, false);
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_arguments_are_ascii() {
        let arg = serde_json::json!({"path": "/ünï/🦀\u{7f}"});
        let text = header_json(&arg);
        assert!(text.is_ascii());
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), arg);
    }
}
