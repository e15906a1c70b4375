//! The network policy: which endpoints a plugin instance may reach, checked
//! on every outgoing connection (`wasi:sockets`) and HTTP request
//! (`wasi:http`), with a log of what was refused so the error the user sees
//! can name it.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};

use wasmtime_wasi::sockets::SocketAddrUse;

use crate::grant::{Grant, NetworkGrant};
use crate::NetworkProtocol;

/// The action of a refused attempt to listen (see [`Refusal::action`]).
pub(crate) const LISTEN: &str = "listen for TCP connections on";
/// The action of a refused use of UDP.
pub(crate) const UDP: &str = "use UDP with";

/// Something a plugin tried to reach and was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// How it tried: TCP or HTTP.
    pub protocol: NetworkProtocol,
    /// What it tried to reach: `host:port`.
    pub endpoint: String,
    /// What it tried to do, in words.
    pub action: &'static str,
    /// Why it was refused, when the grant does name the endpoint (a name
    /// the plugin chose that resolves to the user's own machine, say);
    /// `None` when the grant does not name it at all.
    pub reason: Option<String>,
}

/// What the sandbox stopped: a refusal of something not granted, or a
/// bound of the instance reached (its sockets, its host memory).
#[derive(Debug, Clone, PartialEq)]
pub enum Blame {
    /// Something it tried to reach and was refused.
    Refused(Refusal),
    /// A bound it reached, in words naming the bound and its option.
    Bound(String),
    /// A TLS connection the host made for it failed its checks.
    Tls {
        /// `host:port`.
        endpoint: String,
        /// What failed, as rustls says it.
        problem: rustls::Error,
    },
}

/// What one instance was refused, shared with the hooks that record it.
#[derive(Debug, Clone, Default)]
pub struct RefusalLog(Arc<Mutex<Vec<Blame>>>);

impl RefusalLog {
    fn record(&self, refusal: Refusal) {
        self.push(Blame::Refused(refusal));
    }

    /// Records that an HTTP request to `host` was refused because every
    /// address the name resolved to is withheld, and why.
    pub(crate) fn http_withheld(&self, host: String, reason: String) {
        self.record(Refusal {
            protocol: NetworkProtocol::Http,
            endpoint: host,
            action: "send an HTTP request to",
            reason: Some(reason),
        });
    }

    /// Records that the instance reached a bound; `message` names it and
    /// the option that raises it.
    pub(crate) fn bound(&self, message: String) {
        self.push(Blame::Bound(message));
    }

    fn push(&self, blame: Blame) {
        let mut log = self.0.lock().unwrap();
        // A plugin that retries in a loop must not grow the log without end.
        if log.len() < 16 && !log.contains(&blame) {
            log.push(blame);
        }
    }

    /// Records that a TLS connection to `endpoint` failed with `problem`.
    pub(crate) fn tls(&self, endpoint: String, problem: rustls::Error) {
        self.push(Blame::Tls { endpoint, problem });
    }

    /// Takes everything recorded so far, bounds first: a bound explains
    /// the refusals that follow it.
    pub fn take(&self) -> Vec<Blame> {
        let mut taken = std::mem::take(&mut *self.0.lock().unwrap());
        taken.sort_by_key(|b| matches!(b, Blame::Refused(_)));
        taken
    }

    /// Takes the refusals recorded so far.
    pub fn take_refusals(&self) -> Vec<Refusal> {
        self.take()
            .into_iter()
            .filter_map(|b| match b {
                Blame::Refused(r) => Some(r),
                Blame::Bound(_) | Blame::Tls { .. } => None,
            })
            .collect()
    }
}

/// An endpoint a grant allows: a host (name or address, lower-case) and a
/// port, or any port; a URL grant also fixes the scheme, so `https://h`
/// does not let cleartext `http://h:443` through.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
    /// For an HTTP grant of a URL with a path (`https://h/dav/backups`):
    /// that path, percent-decoded and without a trailing `/`. Requests go
    /// only to it and below it.
    path: Option<String>,
    /// The user's configuration named the host (see
    /// [`NetworkGrant::named_by_user`]).
    named_by_user: bool,
}

/// The host of `text` (a URL, `host:port` or a bare host), lower-case and
/// without brackets.
pub(crate) fn host_of(text: &str) -> Option<String> {
    parse_endpoint(text).map(|e| e.host)
}

/// What kind of address `ip` is, if it is one a plugin must not reach
/// through a name it chose: the user's own machine, networks behind the
/// user's router, cloud metadata services.
pub(crate) fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address (this machine)")
            } else if v4.is_private() {
                Some("a private-network address")
            } else if v4.is_link_local() {
                Some("a link-local address (where cloud metadata services answer)")
            } else if a == 100 && (b & 0xc0) == 64 {
                Some("a shared (carrier-grade NAT) address")
            } else if a == 0 {
                Some("an address of this network")
            } else if v4.is_broadcast() || v4.is_multicast() {
                Some("a broadcast or multicast address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_kind(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback address (this machine)")
            } else if v6.is_unspecified() {
                Some("an address of this network")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a unique-local address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                // NAT64: an IPv4 address in IPv6 clothing.
                let [.., c, d, e, f] = v6.octets();
                internal_kind(IpAddr::V4([c, d, e, f].into()))
            } else {
                None
            }
        }
    }
}

/// Why a name the plugin chose may not take it to `ip`.
fn withheld_reason(name: &str, ip: IpAddr, kind: &str) -> String {
    format!(
        "'{name}' resolves to {ip}, {kind}, and a host name the plugin chose (not one in \
         your configuration) never reaches loopback, private or link-local addresses"
    )
}

/// Parses `https://host:port/path`, `host:port`, `host:*` or `host`.
fn parse_endpoint(text: &str) -> Option<Endpoint> {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, text),
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let path = rest[authority.len()..]
        .split(['?', '#'])
        .next()
        .map(percent_decode)
        .map(|p| p.trim_end_matches('/').to_owned())
        .filter(|p| !p.is_empty());
    let authority = authority.rsplit('@').next()?;
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host.to_owned(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some("*") => None,
        Some(port) => Some(port.parse().ok()?),
        None => match scheme.as_deref() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        },
    };
    Some(Endpoint {
        scheme,
        host: host.trim_end_matches('.').to_ascii_lowercase(),
        port,
        path,
        named_by_user: false,
    })
}

/// `text` with its `%XX` escapes decoded (invalid ones kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a request to `path` is outside a grant of `granted` (a path and
/// everything below it), or `None` when it is inside. Both are compared
/// percent-decoded, and a `.` or `..` segment is refused outright: a
/// server would resolve it to somewhere else.
fn outside_path(path: &str, granted: &str) -> Option<String> {
    let decoded = percent_decode(path);
    if decoded
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Some(format!(
            "the path {path} holds a '.' or '..' segment, and the grant covers only {granted}              and what is below it"
        ));
    }
    let inside = decoded == granted
        || decoded
            .strip_prefix(granted)
            .is_some_and(|rest| rest.starts_with('/'));
    (!inside).then(|| {
        format!("the path {path} is outside {granted}, the path the grant covers (with what is below it)")
    })
}

/// A host name in a TCP grant.
#[derive(Debug, Clone)]
struct NameGrant {
    name: String,
    /// What it resolved to that the plugin may reach.
    addresses: Vec<IpAddr>,
    /// Why an address it resolved to may not be reached, if one may not.
    withheld: Option<String>,
}

/// What one instance may reach.
#[derive(Debug, Clone, Default)]
pub struct NetworkPolicy {
    http: Vec<Endpoint>,
    /// Addresses the TCP grants allow, with their port (or any).
    tcp: Vec<(IpAddr, Option<u16>)>,
    /// The host names in TCP grants, with the addresses they resolved to
    /// when the instance started and that it may reach: the only names
    /// the plugin may look up, and the only answers it gets.
    names: Vec<NameGrant>,
    /// Addresses a granted name resolved to that the plugin may not reach
    /// through it, and why: for the message when it tries.
    withheld: Vec<(IpAddr, String)>,
    refusals: RefusalLog,
}

impl NetworkPolicy {
    /// The policy for `grant`. Host names in TCP grants are resolved now,
    /// once, and only the addresses that pass are kept: the lookups the
    /// plugin makes are answered from them, and the connection check
    /// needs no lookups.
    pub fn new(grant: &Grant) -> Self {
        let mut policy = NetworkPolicy::default();
        for NetworkGrant {
            protocol,
            endpoint,
            named_by_user,
            ..
        } in &grant.network
        {
            let Some(mut parsed) = parse_endpoint(endpoint) else {
                continue;
            };
            parsed.named_by_user = *named_by_user;
            match protocol {
                NetworkProtocol::Http => policy.http.push(parsed),
                NetworkProtocol::Tcp => {
                    if let Ok(ip) = parsed.host.parse::<IpAddr>() {
                        match internal_kind(ip) {
                            Some(kind) if !named_by_user => policy.withheld.push((
                                ip,
                                format!(
                                    "{ip} is {kind}, and the plugin chose it (your \
                                     configuration does not name it)"
                                ),
                            )),
                            _ => policy.tcp.push((ip, parsed.port)),
                        }
                        continue;
                    }
                    let resolved: Vec<IpAddr> = (parsed.host.as_str(), 0)
                        .to_socket_addrs()
                        .map(|addresses| addresses.map(|a| a.ip().to_canonical()).collect())
                        .unwrap_or_default();
                    let mut name = NameGrant {
                        name: parsed.host.clone(),
                        addresses: Vec::new(),
                        withheld: None,
                    };
                    for ip in resolved {
                        match internal_kind(ip) {
                            Some(kind) if !named_by_user => {
                                let why = withheld_reason(&parsed.host, ip, kind);
                                name.withheld.get_or_insert_with(|| why.clone());
                                policy.withheld.push((ip, why));
                            }
                            _ => {
                                policy.tcp.push((ip, parsed.port));
                                name.addresses.push(ip);
                            }
                        }
                    }
                    match policy.names.iter_mut().find(|n| n.name == name.name) {
                        Some(known) => known.addresses.extend(name.addresses),
                        None => policy.names.push(name),
                    }
                }
            }
        }
        policy
    }

    /// The refusal log, to read after a call.
    pub fn refusals(&self) -> &RefusalLog {
        &self.refusals
    }

    /// Answers the plugin's lookup of `name` (`wasi:sockets/ip-name-lookup`)
    /// without asking any resolver: an address is itself; a name in a TCP
    /// grant gets the addresses it may reach; any other name is refused
    /// (and logged), so lookups cannot carry data out.
    pub fn lookup(&self, name: &str) -> Option<Vec<IpAddr>> {
        let literal = name.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>() {
            return Some(vec![ip]);
        }
        let wanted = name.trim_end_matches('.').to_ascii_lowercase();
        let refuse = |reason: Option<String>| {
            self.refusals.record(Refusal {
                protocol: NetworkProtocol::Tcp,
                endpoint: wanted.clone(),
                action: "look up the address of",
                reason,
            });
            None
        };
        match self.names.iter().find(|n| n.name == wanted) {
            Some(granted) if !granted.addresses.is_empty() => Some(granted.addresses.clone()),
            // A granted name that did not resolve is not a refusal.
            Some(NameGrant { withheld: None, .. }) => Some(Vec::new()),
            Some(NameGrant {
                withheld: Some(why),
                ..
            }) => refuse(Some(why.clone())),
            None => refuse(None),
        }
    }

    /// The addresses an HTTP connection to `host` may use: resolved now,
    /// for this connection, and checked, so the connection goes only to an
    /// address that was checked (a name that resolves differently the
    /// next time gains nothing). When none passes, the error says why; it
    /// is not recorded here: the resolver is shared by a remote's
    /// instances, and the instance whose request failed records it
    /// ([`RefusalLog::http_withheld`]).
    pub async fn resolve_http(&self, host: &str) -> std::io::Result<Vec<SocketAddr>> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let named_by_user = self.http.iter().any(|e| e.host == host && e.named_by_user);
        let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
        let mut allowed = Vec::new();
        let mut withheld = None;
        for address in resolved {
            let ip = address.ip().to_canonical();
            match internal_kind(ip) {
                Some(kind) if !named_by_user => {
                    withheld.get_or_insert_with(|| withheld_reason(&host, ip, kind));
                }
                _ => allowed.push(SocketAddr::new(ip, 0)),
            }
        }
        if allowed.is_empty() {
            if let Some(reason) = withheld {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    reason,
                ));
            }
        }
        Ok(allowed)
    }

    /// Decides a socket use; refusals are logged.
    pub fn check_socket(&self, address: SocketAddr, usage: SocketAddrUse) -> bool {
        let allowed = match usage {
            SocketAddrUse::TcpConnect => self
                .tcp
                .iter()
                .any(|(ip, port)| *ip == address.ip() && port.is_none_or(|p| p == address.port())),
            // A connect binds the socket implicitly to the wildcard address
            // first; that bind is part of the connect, which is checked.
            SocketAddrUse::TcpBind => address.ip().is_unspecified() && address.port() == 0,
            _ => false,
        };
        if !allowed {
            let action = match usage {
                SocketAddrUse::TcpConnect => "open a TCP connection to",
                SocketAddrUse::TcpBind | SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => {
                    LISTEN
                }
                SocketAddrUse::UdpBind | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => UDP,
            };
            let reason = matches!(usage, SocketAddrUse::TcpConnect)
                .then(|| {
                    self.withheld
                        .iter()
                        .find(|(ip, _)| *ip == address.ip().to_canonical())
                        .map(|(_, why)| why.clone())
                })
                .flatten();
            self.refusals.record(Refusal {
                protocol: NetworkProtocol::Tcp,
                endpoint: address.to_string(),
                action,
                reason,
            });
        }
        allowed
    }

    /// Decides an outgoing HTTP request to `uri`; refusals are logged.
    pub fn check_http(&self, uri: &http::Uri) -> bool {
        let host = uri
            .host()
            .unwrap_or("")
            .trim_matches(['[', ']'])
            .to_ascii_lowercase();
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
        let host = host.trim_end_matches('.').to_owned();
        let reaching: Vec<&Endpoint> = self
            .http
            .iter()
            .filter(|e| {
                e.host == host
                    && (e.port.is_none() || e.port == port)
                    && (e.scheme.is_none() || e.scheme == scheme)
            })
            .collect();
        // A grant of a URL with a path covers that path and what is below
        // it; the first grant of the host that the path is outside of says
        // why, when none covers it.
        let mut outside = None;
        let granted: Vec<&Endpoint> = reaching
            .into_iter()
            .filter(|e| match &e.path {
                None => true,
                Some(granted) => match outside_path(uri.path(), granted) {
                    None => true,
                    Some(why) => {
                        outside.get_or_insert(why);
                        false
                    }
                },
            })
            .collect();
        // An address written in the URL reaches no resolver, so it is
        // checked here; a name is checked on what it resolves to.
        let reason = match (
            host.parse::<IpAddr>().ok().and_then(internal_kind),
            granted.is_empty(),
        ) {
            (Some(kind), false) if !granted.iter().any(|e| e.named_by_user) => Some(format!(
                "{host} is {kind}, and the plugin chose it (your configuration does not name it)"
            )),
            (_, true) => outside,
            _ => None,
        };
        let allowed = !granted.is_empty() && reason.is_none();
        if !allowed {
            let endpoint = match port {
                Some(port) if host.contains(':') => format!("[{host}]:{port}"),
                Some(port) => format!("{host}:{port}"),
                None => host,
            };
            self.refusals.record(Refusal {
                protocol: NetworkProtocol::Http,
                endpoint,
                action: "send an HTTP request to",
                reason,
            });
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(protocol: NetworkProtocol, endpoint: &str) -> Grant {
        Grant {
            directories: Vec::new(),
            network: vec![NetworkGrant {
                protocol,
                endpoint: endpoint.into(),
                reason: String::new(),
                named_by_user: true,
            }],
            ..Grant::default()
        }
    }

    #[test]
    fn parses_endpoints() {
        let e = |text| parse_endpoint(text).map(|e| (e.host, e.port));
        assert_eq!(
            e("https://S3.Example.com/bucket"),
            Some(("s3.example.com".into(), Some(443)))
        );
        assert_eq!(
            e("http://127.0.0.1:9000"),
            Some(("127.0.0.1".into(), Some(9000)))
        );
        assert_eq!(
            e("ftp.example.com:21"),
            Some(("ftp.example.com".into(), Some(21)))
        );
        assert_eq!(
            e("ftp.example.com:*"),
            Some(("ftp.example.com".into(), None))
        );
        assert_eq!(e("[::1]:8080"), Some(("::1".into(), Some(8080))));
        assert_eq!(e(""), None);
    }

    #[test]
    fn tcp_allows_only_the_grant() {
        let policy = NetworkPolicy::new(&grant(NetworkProtocol::Tcp, "127.0.0.1:2121"));
        assert!(policy.check_socket("127.0.0.1:2121".parse().unwrap(), SocketAddrUse::TcpConnect));
        assert!(!policy.check_socket("127.0.0.1:2122".parse().unwrap(), SocketAddrUse::TcpConnect));
        assert!(!policy.check_socket("127.0.0.1:2121".parse().unwrap(), SocketAddrUse::TcpListen));
        assert!(policy.check_socket("0.0.0.0:0".parse().unwrap(), SocketAddrUse::TcpBind));
        let refused = policy.refusals().take_refusals();
        assert_eq!(refused.len(), 2);
        assert_eq!(refused[0].endpoint, "127.0.0.1:2122");
    }

    #[test]
    fn http_allows_only_the_grant() {
        let policy = NetworkPolicy::new(&grant(NetworkProtocol::Http, "https://api.example.com"));
        assert!(policy.check_http(&"https://api.example.com/2/files".parse().unwrap()));
        assert!(policy.check_http(&"https://API.example.com:443/x".parse().unwrap()));
        assert!(!policy.check_http(&"http://api.example.com/x".parse().unwrap()));
        assert!(!policy.check_http(&"https://evil.example.com/".parse().unwrap()));
        // A grant is for its scheme: cleartext to the TLS port is refused.
        assert!(!policy.check_http(&"http://api.example.com:443/x".parse().unwrap()));
        let refused = policy.refusals().take_refusals();
        assert_eq!(refused[1].endpoint, "evil.example.com:443");
        assert_eq!(refused[2].endpoint, "api.example.com:443");
        // And a cleartext grant is for its port alone.
        let local = NetworkPolicy::new(&grant(NetworkProtocol::Http, "http://127.0.0.1:9000"));
        assert!(local.check_http(&"http://127.0.0.1:9000/b".parse().unwrap()));
        assert!(!local.check_http(&"http://127.0.0.1:9001/b".parse().unwrap()));
        assert!(!local.check_http(&"https://127.0.0.1:9000/b".parse().unwrap()));
    }

    #[test]
    fn an_http_grant_with_a_path_covers_that_path_and_below_only() {
        let policy = NetworkPolicy::new(&grant(
            NetworkProtocol::Http,
            "http://127.0.0.1:18082/sub/path%20test/",
        ));
        let allows = |url: &str| policy.check_http(&url.parse().unwrap());
        assert!(allows("http://127.0.0.1:18082/sub/path%20test"));
        assert!(allows("http://127.0.0.1:18082/sub/path%20test/"));
        assert!(allows("http://127.0.0.1:18082/sub/path%20test/a/b?x=1"));
        assert!(allows("http://127.0.0.1:18082/sub/path%20test/.hidden"));
        assert!(!allows("http://127.0.0.1:18082/"));
        assert!(!allows("http://127.0.0.1:18082/sub"));
        assert!(!allows("http://127.0.0.1:18082/sub/path%20testing"));
        assert!(!allows("http://127.0.0.1:18082/sub/path%20test/../secret"));
        assert!(!allows(
            "http://127.0.0.1:18082/sub/path%20test/%2e%2E/secret"
        ));
        assert!(!allows(
            "http://127.0.0.1:18082/sub/path%20test%2f..%2fsecret"
        ));
        let refused = policy.refusals().take_refusals();
        assert_eq!(refused.len(), 6);
        assert_eq!(refused[0].endpoint, "127.0.0.1:18082");
        assert_eq!(
            refused[0].reason.as_deref(),
            Some(
                "the path / is outside /sub/path test, the path the grant covers (with what is \
                 below it)"
            )
        );
        assert!(
            refused[3]
                .reason
                .as_deref()
                .unwrap()
                .contains("'.' or '..' segment"),
            "{:?}",
            refused[3]
        );
    }
}
