//! Outgoing HTTP through `wasi:http`: the host does TLS and checks every
//! request against the plugin's grant. Bodies stream both ways, a chunk at
//! a time.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingResponse, Method,
    OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use wasip2::io::poll::poll;
/// What [`Upload::writable`] gives and [`Upload::finish_while`] waits on.
pub use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

use crate::{ByteRange, Error, Result};

/// Percent-encodes `text` for a URL: every byte but RFC 3986's unreserved
/// characters, as SigV4 and form bodies want; `/` is kept when
/// `keep_slash` (a path), encoded otherwise (a query value, a form field).
pub fn percent_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// What an HTTP `Range` header should ask for to read `range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// The whole object: no header.
    Whole,
    /// No bytes at all (a zero-length span or suffix): the caller checks
    /// the object exists and reads nothing, since HTTP cannot ask for none.
    Nothing,
    /// The header's value, such as `bytes=100-199`.
    Header(String),
}

impl RangeRequest {
    /// The request for `range` (`None`: the whole object).
    pub fn of(range: Option<&ByteRange>) -> RangeRequest {
        match range {
            None | Some(ByteRange::From(0)) => RangeRequest::Whole,
            Some(ByteRange::Span(span)) if span.length == 0 => RangeRequest::Nothing,
            Some(ByteRange::Span(span)) => RangeRequest::Header(format!(
                "bytes={}-{}",
                span.offset,
                span.offset.saturating_add(span.length - 1)
            )),
            Some(ByteRange::From(offset)) => RangeRequest::Header(format!("bytes={offset}-")),
            Some(ByteRange::Suffix(0)) => RangeRequest::Nothing,
            Some(ByteRange::Suffix(last)) => RangeRequest::Header(format!("bytes=-{last}")),
        }
    }
}

/// An HTTP request to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `PUT`, `POST`, `HEAD`, `DELETE`, …
    pub method: String,
    /// `https` or `http`.
    pub scheme: String,
    /// `host` or `host:port`.
    pub authority: String,
    /// The path and query, starting with `/`, already percent-encoded.
    pub path_and_query: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A request for `method` on `scheme://authority` + `path_and_query`.
    pub fn new(method: &str, scheme: &str, authority: &str, path_and_query: &str) -> Self {
        Request {
            method: method.to_owned(),
            scheme: scheme.to_owned(),
            authority: authority.to_owned(),
            path_and_query: path_and_query.to_owned(),
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn describe(&self) -> String {
        format!(
            "{} {}://{}{}",
            self.method, self.scheme, self.authority, self.path_and_query
        )
    }

    fn outgoing(&self) -> Result<OutgoingRequest> {
        let entries: Vec<(String, Vec<u8>)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect();
        let fields = Fields::from_list(&entries).map_err(|e| {
            Error::other(format!("{}: a header was refused: {e:?}", self.describe()))
        })?;
        let request = OutgoingRequest::new(fields);
        let method = match self.method.as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "PUT" => Method::Put,
            "POST" => Method::Post,
            "DELETE" => Method::Delete,
            other => Method::Other(other.to_owned()),
        };
        let scheme = match self.scheme.as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => Scheme::Other(other.to_owned()),
        };
        let bad =
            |what: &str| Error::invalid_config(format!("{}: invalid {what}", self.describe()));
        request.set_method(&method).map_err(|()| bad("method"))?;
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| bad("scheme"))?;
        request
            .set_authority(Some(&self.authority))
            .map_err(|()| bad("host"))?;
        request
            .set_path_with_query(Some(&self.path_and_query))
            .map_err(|()| bad("path"))?;
        Ok(request)
    }

    /// Sends the request with `body` (empty for none) and waits for the
    /// response head; the response body is read from the returned value.
    pub fn send(&self, body: &[u8]) -> Result<Response> {
        self.send_body(body)?.finish()
    }

    /// Sends the request with all of `body` and returns without waiting
    /// for the response, so that several requests can be in flight; call
    /// [`Upload::finish`] for the response.
    pub fn send_body(&self, body: &[u8]) -> Result<Upload> {
        let mut upload = if !body.is_empty() || !matches!(self.method.as_str(), "GET" | "HEAD") {
            self.start_sized(body.len() as u64)?
        } else {
            self.start()?
        };
        upload.write(body)?;
        upload.end_body();
        Ok(upload)
    }

    /// Sends the request head announcing a body of `length` bytes, to be
    /// written afterwards ([`Upload::write`], [`Upload::write_now`]).
    /// Without a length the body would go chunked, which S3 and many APIs
    /// refuse for uploads.
    pub fn start_sized(&self, length: u64) -> Result<Upload> {
        self.clone()
            .header("content-length", length.to_string())
            .start()
    }

    /// Sends the request head and returns a writer for the body, for
    /// bodies too large to hold at once.
    pub fn start(&self) -> Result<Upload> {
        let request = self.outgoing()?;
        let body = request
            .body()
            .map_err(|()| Error::other(format!("{}: no request body", self.describe())))?;
        let stream = body
            .write()
            .map_err(|()| Error::other(format!("{}: no request body stream", self.describe())))?;
        let options = RequestOptions::new();
        // Generous: a server may take long to answer a large part.
        let _ = options.set_first_byte_timeout(Some(600_000_000_000));
        let response = outgoing_handler::handle(request, Some(options))
            .map_err(|e| transport_error(&self.describe(), e))?;
        Ok(Upload {
            what: self.describe(),
            body: Some(body),
            stream: Some(stream),
            response,
            resolved: None,
            send_error: None,
        })
    }
}

/// Waits until one of `pollables` is ready (returns at once for none).
pub fn wait_any(pollables: &[Pollable]) {
    if !pollables.is_empty() {
        poll(&pollables.iter().collect::<Vec<_>>());
    }
}

/// A request whose body is being written.
pub struct Upload {
    what: String,
    body: Option<OutgoingBody>,
    stream: Option<OutputStream>,
    response: FutureIncomingResponse,
    /// The response, once taken from the future (which yields it once).
    resolved: Option<std::result::Result<IncomingResponse, ErrorCode>>,
    /// Why ending the body failed, if it did.
    send_error: Option<Error>,
}

impl Upload {
    /// Writes all of `bytes` to the request body, waiting for the host to
    /// take them.
    pub fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        loop {
            bytes = &bytes[self.write_now(bytes)?..];
            if bytes.is_empty() {
                return Ok(());
            }
            let stream = self.stream.as_ref().expect("the body is open until finish");
            stream.subscribe().block();
        }
    }

    /// Writes as much of `bytes` as the host takes now, without waiting;
    /// returns how many. A plugin with other work (the next part to fill)
    /// calls it between that work, so the body goes out meanwhile instead
    /// of holding the plugin until it is sent.
    pub fn write_now(&mut self, bytes: &[u8]) -> Result<usize> {
        let mut written = 0;
        while written < bytes.len() {
            let stream = self.stream.as_ref().expect("the body is open until finish");
            let permitted = match stream.check_write() {
                Ok(permitted) => permitted,
                Err(e) => return Err(self.stream_error(e)),
            };
            if permitted == 0 {
                break;
            }
            let n = (bytes.len() - written).min(permitted as usize);
            if let Err(e) = stream.write(&bytes[written..written + n]) {
                return Err(self.stream_error(e));
            }
            written += n;
        }
        Ok(written)
    }

    /// Waits for the response and keeps it.
    fn resolve(&mut self) {
        if self.resolved.is_none() {
            self.response.subscribe().block();
            self.resolved = match self.response.get() {
                Some(Ok(result)) => Some(result),
                _ => Some(Err(ErrorCode::InternalError(Some("no response".into())))),
            };
        }
    }

    fn stream_error(&mut self, error: StreamError) -> Error {
        // A failed write usually means the request itself failed (the
        // connection was refused or dropped); its error says why, once the
        // response future resolves.
        self.resolve();
        if let Some(Err(code)) = &self.resolved {
            return transport_error(&self.what, code.clone());
        }
        Error::unavailable(format!("{}: sending the body failed: {error:?}", self.what))
    }

    /// Ends the body: nothing more can be written. Idempotent.
    pub fn end_body(&mut self) {
        // A server may answer (a HEAD, an error) before it reads the body
        // and close it; the response then says what happened, so a failed
        // flush or finish only counts if no response comes.
        if let Some(stream) = self.stream.take() {
            if let Err(e) = stream.blocking_flush() {
                drop(stream);
                self.send_error = Some(self.stream_error(e));
            }
        }
        if let Some(body) = self.body.take() {
            if let Err(e) = OutgoingBody::finish(body, None) {
                self.send_error
                    .get_or_insert(transport_error(&self.what, e));
            }
        }
    }

    /// Something to wait on until the host takes more of the body; `None`
    /// once the body is ended.
    pub fn writable(&self) -> Option<Pollable> {
        self.stream.as_ref().map(|stream| stream.subscribe())
    }

    /// Ends the body and waits for the response head.
    pub fn finish(self) -> Result<Response> {
        self.finish_while(Vec::new)
    }

    /// Ends the body and waits for the response head, meanwhile doing the
    /// caller's other work: `meanwhile` runs first and again each time one
    /// of the pollables it returned is ready (say, the bodies of other
    /// requests in flight that the host can take more of), so those go on
    /// while this answer is awaited; an empty list means nothing more to do.
    pub fn finish_while(
        mut self,
        mut meanwhile: impl FnMut() -> Vec<Pollable>,
    ) -> Result<Response> {
        self.end_body();
        if self.resolved.is_none() {
            loop {
                let others = meanwhile();
                if others.is_empty() {
                    break;
                }
                let answer = self.response.subscribe();
                let mut waits = vec![&answer];
                waits.extend(others.iter());
                if poll(&waits).contains(&0) {
                    break;
                }
            }
        }
        self.resolve();
        let incoming = match self.resolved.take() {
            Some(Ok(response)) => response,
            Some(Err(code)) => return Err(transport_error(&self.what, code)),
            None => {
                return Err(self
                    .send_error
                    .take()
                    .unwrap_or_else(|| Error::unavailable(format!("{}: no response", self.what))))
            }
        };
        Response::new(std::mem::take(&mut self.what), incoming)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // The stream is the body's child: it must go first, or the runtime
        // traps ("resource has children").
        self.stream = None;
        self.body = None;
    }
}

/// A response: status, headers, and a body read a chunk at a time.
pub struct Response {
    what: String,
    status: u16,
    headers: Vec<(String, String)>,
    stream: Option<InputStream>,
    body: Option<IncomingBody>,
    _response: IncomingResponse,
}

impl Response {
    fn new(what: String, response: IncomingResponse) -> Result<Self> {
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(n, v)| {
                (
                    n.to_ascii_lowercase(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect();
        let body = response
            .consume()
            .map_err(|()| Error::other(format!("{what}: the response body was already taken")))?;
        let stream = body
            .stream()
            .map_err(|()| Error::other(format!("{what}: no response body stream")))?;
        Ok(Response {
            what,
            status: response.status(),
            headers,
            stream: Some(stream),
            body: Some(body),
            _response: response,
        })
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Every header, names in lower case.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Reads up to `max` bytes of the body; empty at the end.
    pub fn read(&mut self, max: usize) -> Result<Vec<u8>> {
        let Some(stream) = self.stream.as_ref() else {
            return Ok(Vec::new());
        };
        let mut chunk = Vec::with_capacity(max.min(1 << 20));
        while chunk.len() < max {
            // Take what has arrived without waiting; wait only when nothing
            // has. A body comes in frames (often a few KiB each), and a
            // wait per frame costs more than the frame.
            let want = (max - chunk.len()) as u64;
            let read = match stream.read(want) {
                Ok(bytes) if bytes.is_empty() => stream.blocking_read(want),
                other => other,
            };
            match read {
                Ok(bytes) => chunk.extend_from_slice(&bytes),
                Err(StreamError::Closed) => {
                    self.stream = None;
                    break;
                }
                Err(e) => {
                    return Err(Error::unavailable(format!(
                        "{}: reading the response failed: {e:?}",
                        self.what
                    )))
                }
            }
        }
        Ok(chunk)
    }

    /// Hands the body's stream over (for [`crate::Reader::take_stream`]):
    /// the host reads the rest of the body itself, and [`Response::read`]
    /// here then sees the end. The body stays open until the response is
    /// dropped.
    pub fn take_stream(&mut self) -> Option<InputStream> {
        self.stream.take()
    }

    /// Reads the whole body, refusing more than `limit` bytes (error bodies
    /// and XML listings are small; this keeps a hostile server from
    /// filling memory).
    pub fn read_all(&mut self, limit: usize) -> Result<Vec<u8>> {
        let mut all = Vec::new();
        loop {
            let chunk = self.read(64 * 1024)?;
            if chunk.is_empty() {
                return Ok(all);
            }
            all.extend_from_slice(&chunk);
            if all.len() > limit {
                return Err(Error::other(format!(
                    "{}: the response is larger than {limit} bytes",
                    self.what
                )));
            }
        }
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        // The stream is the body's child: it must go first.
        self.stream = None;
        if let Some(body) = self.body.take() {
            drop(IncomingBody::finish(body));
        }
    }
}

/// Maps a transport failure; the host's refusal of an ungranted host shows
/// as `HttpRequestDenied`, which the host reports in full.
fn transport_error(what: &str, code: ErrorCode) -> Error {
    match code {
        ErrorCode::HttpRequestDenied => Error::permission_denied(format!(
            "{what}: the host refused the request (not in this remote's grant)"
        )),
        ErrorCode::DnsTimeout
        | ErrorCode::DnsError(_)
        | ErrorCode::ConnectionRefused
        | ErrorCode::ConnectionTerminated
        | ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::ConnectionLimitReached
        | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpUnroutable
        | ErrorCode::HttpResponseTimeout => Error::unavailable(format!(
            "{what}: cannot reach the server ({code:?}); is it running?"
        )),
        ErrorCode::TlsCertificateError
        | ErrorCode::TlsAlertReceived(_)
        | ErrorCode::TlsProtocolError => Error::permission_denied(format!(
            "{what}: TLS failed ({code:?}); check the server's certificate"
        )),
        other => Error::other(format!("{what}: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;

    #[test]
    fn percent_encoding_keeps_unreserved_characters_and_slashes_in_paths() {
        assert_eq!(percent_encode("a b/c+d%e~f", true), "a%20b/c%2Bd%25e~f");
        assert_eq!(percent_encode("a/b", false), "a%2Fb");
        assert_eq!(percent_encode("ü", true), "%C3%BC");
    }

    #[test]
    fn ranges_as_headers() {
        let span = |offset, length| ByteRange::Span(Span { offset, length });
        assert_eq!(RangeRequest::of(None), RangeRequest::Whole);
        assert_eq!(
            RangeRequest::of(Some(&ByteRange::From(0))),
            RangeRequest::Whole
        );
        assert_eq!(RangeRequest::of(Some(&span(5, 0))), RangeRequest::Nothing);
        assert_eq!(
            RangeRequest::of(Some(&span(100, 100))),
            RangeRequest::Header("bytes=100-199".into())
        );
        assert_eq!(
            RangeRequest::of(Some(&ByteRange::From(7))),
            RangeRequest::Header("bytes=7-".into())
        );
        assert_eq!(
            RangeRequest::of(Some(&ByteRange::Suffix(0))),
            RangeRequest::Nothing
        );
        assert_eq!(
            RangeRequest::of(Some(&ByteRange::Suffix(9))),
            RangeRequest::Header("bytes=-9".into())
        );
    }
}
