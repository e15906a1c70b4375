//! The network policy: which endpoints a plugin instance may reach, checked
//! on every outgoing connection (`wasi:sockets`) and HTTP request
//! (`wasi:http`), with a log of what was refused so the error the user sees
//! can name it.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};

use wasmtime_wasi::sockets::SocketAddrUse;

use crate::grant::{Grant, NetworkGrant};
use crate::NetworkProtocol;

/// Something a plugin tried to reach and was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// How it tried: TCP or HTTP.
    pub protocol: NetworkProtocol,
    /// What it tried to reach: `host:port`.
    pub endpoint: String,
    /// What it tried to do, in words.
    pub action: &'static str,
}

/// Refusals seen by one instance, shared with the hooks that record them.
#[derive(Debug, Clone, Default)]
pub struct RefusalLog(Arc<Mutex<Vec<Refusal>>>);

impl RefusalLog {
    fn record(&self, refusal: Refusal) {
        let mut log = self.0.lock().unwrap();
        // A plugin that retries in a loop must not grow the log without end.
        if log.len() < 16 && !log.contains(&refusal) {
            log.push(refusal);
        }
    }

    /// Takes every refusal recorded so far.
    pub fn take(&self) -> Vec<Refusal> {
        std::mem::take(&mut *self.0.lock().unwrap())
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
}

/// Parses `https://host:port/path`, `host:port`, `host:*` or `host`.
fn parse_endpoint(text: &str) -> Option<Endpoint> {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, text),
    };
    let authority = rest.split(['/', '?', '#']).next()?;
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
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// What one instance may reach.
#[derive(Debug, Clone, Default)]
pub struct NetworkPolicy {
    http: Vec<Endpoint>,
    /// Addresses the TCP grants resolve to, with their port (or any).
    tcp: Vec<(IpAddr, Option<u16>)>,
    tcp_names: bool,
    refusals: RefusalLog,
}

impl NetworkPolicy {
    /// The policy for `grant`. Host names in TCP grants are resolved now, so
    /// the address check needs no lookups.
    pub fn new(grant: &Grant) -> Self {
        let mut policy = NetworkPolicy::default();
        for NetworkGrant {
            protocol, endpoint, ..
        } in &grant.network
        {
            let Some(parsed) = parse_endpoint(endpoint) else {
                continue;
            };
            match protocol {
                NetworkProtocol::Http => policy.http.push(parsed),
                NetworkProtocol::Tcp => {
                    if let Ok(ip) = parsed.host.parse::<IpAddr>() {
                        policy.tcp.push((ip, parsed.port));
                    } else {
                        policy.tcp_names = true;
                        if let Ok(addresses) = (parsed.host.as_str(), 0).to_socket_addrs() {
                            policy.tcp.extend(addresses.map(|a| (a.ip(), parsed.port)));
                        }
                    }
                }
            }
        }
        policy
    }

    /// Whether the plugin needs DNS lookups (it was granted a host name).
    pub fn needs_name_lookup(&self) -> bool {
        self.tcp_names
    }

    /// The refusal log, to read after a call.
    pub fn refusals(&self) -> &RefusalLog {
        &self.refusals
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
                    "listen for TCP connections on"
                }
                SocketAddrUse::UdpBind | SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => {
                    "use UDP with"
                }
            };
            self.refusals.record(Refusal {
                protocol: NetworkProtocol::Tcp,
                endpoint: address.to_string(),
                action,
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
        let allowed = self.http.iter().any(|e| {
            e.host == host
                && (e.port.is_none() || e.port == port)
                && (e.scheme.is_none() || e.scheme == scheme)
        });
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
        let refused = policy.refusals().take();
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
        let refused = policy.refusals().take();
        assert_eq!(refused[1].endpoint, "evil.example.com:443");
        assert_eq!(refused[2].endpoint, "api.example.com:443");
        // And a cleartext grant is for its port alone.
        let local = NetworkPolicy::new(&grant(NetworkProtocol::Http, "http://127.0.0.1:9000"));
        assert!(local.check_http(&"http://127.0.0.1:9000/b".parse().unwrap()));
        assert!(!local.check_http(&"http://127.0.0.1:9001/b".parse().unwrap()));
        assert!(!local.check_http(&"https://127.0.0.1:9000/b".parse().unwrap()));
    }
}
