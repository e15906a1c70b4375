//! How a plugin's outgoing HTTP requests (`wasi:http`) leave the host.
//!
//! wasmtime's default client opens a new connection for every request and
//! trusts only the web PKI. This one keeps connections alive between
//! requests (a TLS handshake per S3 part or Dropbox call is the difference
//! between far and near endpoints), and its TLS trusts what the remote's
//! configuration says (`tls_ca_file`, `tls_insecure_skip_verify`), exactly
//! as `wasi:tls` does for raw TCP. The network policy has already approved
//! the request when it gets here.
//!
//! The kept-alive connections are the remote's ([`HttpPool`]), shared by
//! its instances: a remote's calls land on whichever instance is free, so
//! with a pool per instance a transfer's next request often found its
//! instance without an idle connection and opened one (seven connections,
//! each a TCP and TLS handshake, for four transfers of 200 small objects
//! over a 40 ms link, where one pool needs four). What each instance may
//! have in flight stays its own bound ([`HttpClient`]).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::ClientConfig;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use crate::policy::NetworkPolicy;

/// How long to wait for a connection, unless the request says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for a response's first byte, and between two of its
/// chunks, unless the request says otherwise. The per-call deadline of the
/// remote still bounds the whole call.
const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// An idle kept-alive connection is closed after this long: servers close
/// theirs after 60 s or more, and a request must not race that.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The kept-alive connections of one remote, shared by its instances (all
/// granted the same endpoints, trusting the same certificates).
pub(crate) struct HttpPool {
    client: Client<HttpsConnector<HttpConnector<CheckedResolver>>, WasiBody>,
}

impl HttpPool {
    /// A pool whose connections trust `tls` and reach only addresses
    /// `policy` allows, keeping at most `max_idle` idle connections to each
    /// host.
    pub fn new(tls: Arc<ClientConfig>, policy: Arc<NetworkPolicy>, max_idle: usize) -> Self {
        let mut tcp = HttpConnector::new_with_resolver(CheckedResolver(policy));
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_max_idle_per_host(max_idle)
            .build(connector);
        HttpPool { client }
    }
}

/// One plugin instance's requests: through its remote's pool, at most
/// `max_sockets` in flight.
pub(crate) struct HttpClient {
    pool: Arc<HttpPool>,
    /// One permit per request in flight (held until its response body is
    /// done with): each holds a connection, a descriptor of the process.
    in_flight: Arc<tokio::sync::Semaphore>,
    max_in_flight: usize,
    policy: Arc<NetworkPolicy>,
}

/// Resolves the host of each new connection through the network policy,
/// which checks every address it returns: the connection can go only to
/// an address that was checked. (An address written in the URL skips the
/// resolver; the policy checked it with the request.) What it withholds is
/// recorded by the instance whose request it was ([`HttpClient::send`]).
#[derive(Clone)]
struct CheckedResolver(Arc<NetworkPolicy>);

impl tower_service::Service<Name> for CheckedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.0.clone();
        Box::pin(async move { Ok(policy.resolve_http(name.as_str()).await?.into_iter()) })
    }
}

/// What the caller drives alongside the response: nothing here, since the
/// pool drives its connections on the runtime.
pub(crate) type Io = Box<dyn Future<Output = Result<(), Error>> + Send>;

impl HttpClient {
    pub fn new(pool: Arc<HttpPool>, policy: Arc<NetworkPolicy>, max_sockets: usize) -> Self {
        HttpClient {
            pool,
            in_flight: Arc::new(tokio::sync::Semaphore::new(max_sockets)),
            max_in_flight: max_sockets,
            policy,
        }
    }

    pub async fn send(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<(http::Response<WasiBody>, Io), Error> {
        let first_byte = options
            .and_then(|o| o.first_byte_timeout)
            .unwrap_or(READ_TIMEOUT);
        let between_bytes = options
            .and_then(|o| o.between_bytes_timeout)
            .unwrap_or(READ_TIMEOUT)
            .max(Duration::from_millis(1));
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            self.policy.refusals().bound(format!(
                "has {} HTTP requests in flight, the most an instance may (max_sockets = {}); \
                 if it really needs more at once, raise max_sockets in the remote's \
                 configuration",
                self.max_in_flight, self.max_in_flight
            ));
            return Err(Error::ConnectionLimitReached);
        };
        // Kept for the message of a failure (a clone shares the bytes).
        let uri = request.uri().clone();
        let response = tokio::time::timeout(first_byte, self.pool.client.request(request))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?
            .map_err(|e| {
                // The plugin gets only a code; the user gets what failed.
                if let Some(problem) = tls_problem(&e) {
                    let endpoint = uri.authority().map(|a| a.to_string()).unwrap_or_default();
                    self.policy.refusals().tls(endpoint, problem.clone());
                }
                if let Some(withheld) = withheld(&e) {
                    let host = uri.host().unwrap_or_default().to_owned();
                    self.policy.refusals().http_withheld(host, withheld);
                }
                transport_error(e)
            })?;
        let response = response.map(|incoming| {
            TimedBody {
                incoming,
                limit: between_bytes,
                timer: Box::pin(tokio::time::sleep(between_bytes)),
                _permit: permit,
            }
            .boxed_unsync()
        });
        Ok((response, Box::new(async { Ok(()) })))
    }
}

/// The causes of `error`, outermost first. An `io::Error`'s `source()`
/// skips the error it wraps (rustls's, for a failed handshake), so that one
/// is visited too.
fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    let mut next = Some(error);
    std::iter::from_fn(move || {
        let cause = next?;
        next = match cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        };
        Some(cause)
    })
}

/// The TLS failure behind `error`, if that is what it is.
fn tls_problem(error: &hyper_util::client::legacy::Error) -> Option<&rustls::Error> {
    causes(error).find_map(|cause| cause.downcast_ref::<rustls::Error>())
}

/// Why the policy withheld every address the host resolved to, if that is
/// what failed (the resolver's `PermissionDenied`).
fn withheld(error: &hyper_util::client::legacy::Error) -> Option<String> {
    causes(error).find_map(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .filter(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
            .map(|io| io.to_string())
    })
}

/// Names what failed in the terms `wasi:http` has for it, so that the
/// plugin can say "not trusted" rather than "is it running?".
fn transport_error(error: hyper_util::client::legacy::Error) -> Error {
    for cause in causes(&error) {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return match tls {
                rustls::Error::InvalidCertificate(_) => Error::TlsCertificateError,
                rustls::Error::AlertReceived(alert) => Error::TlsAlertReceived {
                    alert_id: None,
                    alert_message: Some(format!("{alert:?}")),
                },
                _ => Error::TlsProtocolError,
            };
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Error::ConnectionRefused,
                // The policy refused every address the name resolved to.
                std::io::ErrorKind::PermissionDenied => return Error::HttpRequestDenied,
                std::io::ErrorKind::TimedOut => return Error::ConnectionTimeout,
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => {
                    return Error::ConnectionTerminated
                }
                _ => {}
            }
        }
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            if hyper.is_incomplete_message() || hyper.is_canceled() {
                return Error::ConnectionTerminated;
            }
        }
    }
    if error.is_connect() {
        return Error::ConnectionRefused;
    }
    Error::InternalError(Some(error.to_string()))
}

/// A response body that fails when the server goes quiet for too long.
struct TimedBody {
    incoming: hyper::body::Incoming,
    limit: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    /// The request's place among those in flight, given back with the body.
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let deadline = tokio::time::Instant::now() + self.limit;
                self.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(if e.is_timeout() {
                Error::HttpResponseTimeout
            } else {
                Error::from(e)
            }))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

/// POSTs `form` (URL-encoded) to `url` outside any plugin, trusting what
/// `trust` says, and returns the status and at most `limit` bytes of the
/// body: the host's own requests (an OAuth token exchange).
pub async fn post_form(
    url: &str,
    form: &[(&str, &str)],
    trust: &crate::TlsTrust,
    limit: usize,
) -> crate::Result<(u16, Vec<u8>)> {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let request = http::Request::post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(http_body_util::Full::new(Bytes::from(body)));
    send_plain("POST", url, request, trust, limit).await
}

/// GETs `url` as a plain HTTP client would (no credentials), trusting what
/// `trust` says, and returns the status and at most `limit` bytes of the
/// body: how the conformance suite checks a presigned URL.
pub async fn http_get(
    url: &str,
    trust: &crate::TlsTrust,
    limit: usize,
) -> crate::Result<(u16, Vec<u8>)> {
    let request = http::Request::get(url).body(http_body_util::Full::new(Bytes::new()));
    send_plain("GET", url, request, trust, limit).await
}

async fn send_plain(
    method: &str,
    url: &str,
    request: http::Result<http::Request<http_body_util::Full<Bytes>>>,
    trust: &crate::TlsTrust,
    limit: usize,
) -> crate::Result<(u16, Vec<u8>)> {
    use crate::{Error as WharfError, ErrorKind};
    let failed = |e: &dyn std::fmt::Display| {
        WharfError::new(ErrorKind::Unavailable, format!("{method} {url}: {e}"))
    };
    let request = request.map_err(|e| failed(&e))?;
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*trust.client_config()?).clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    let client: Client<_, http_body_util::Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(connector);
    let response = tokio::time::timeout(READ_TIMEOUT, client.request(request))
        .await
        .map_err(|_| failed(&"no answer in time"))?
        .map_err(|e| failed(&transport_error(e)))?;
    let status = response.status().as_u16();
    let body = http_body_util::Limited::new(response.into_body(), limit)
        .collect()
        .await
        .map_err(|e| failed(&e))?
        .to_bytes();
    Ok((status, body.to_vec()))
}

/// Percent-encodes `text` for a URL query or a form: everything but the
/// unreserved characters of RFC 3986.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
