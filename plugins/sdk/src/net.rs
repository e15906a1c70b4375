//! TCP connections for plugins that speak a raw protocol (FTP), through
//! `wasi:sockets`, with TLS done by the host through `wasi:tls`.
//!
//! Every connection passes the host's network policy: a plugin reaches
//! only the `host:port` endpoints its `info` declared for the user's
//! options, and a refused connection says so ([`NetError::Refused`]).
//! Every wait is bounded by the connection's timeout.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use wasip2::clocks::monotonic_clock::subscribe_duration;
use wasip2::io::poll::{poll, Pollable};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

use crate::tls_bindings::wasi::tls::types::{ClientConnection, ClientHandshake};
use crate::Error;

/// Why a connection failed. [`From<NetError>`] for [`Error`] maps each
/// onto the contract's error kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// The host's sandbox refused the connection: the endpoint is not in
    /// the plugin's grant.
    Refused(String),
    /// Nobody answered, or the connection was reset or closed.
    Unreachable(String),
    /// The peer did not answer within the timeout.
    Timeout(String),
    /// The TLS handshake failed: most often a certificate the host does not
    /// trust, or one for another name.
    Tls(String),
    /// Anything else.
    Other(String),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Refused(m)
            | NetError::Unreachable(m)
            | NetError::Timeout(m)
            | NetError::Tls(m)
            | NetError::Other(m) => f.write_str(m),
        }
    }
}

impl From<NetError> for Error {
    fn from(error: NetError) -> Self {
        match error {
            NetError::Refused(m) => Error::permission_denied(m),
            NetError::Unreachable(m) | NetError::Timeout(m) => Error::unavailable(m),
            NetError::Tls(m) => Error::permission_denied(m),
            NetError::Other(m) => Error::other(m),
        }
    }
}

/// The result of a network operation.
pub type NetResult<T> = std::result::Result<T, NetError>;

/// One TCP connection, plain or TLS. Dropping it closes it.
pub struct Connection {
    // Fields drop in this order: a stream before the TLS connection it
    // belongs to, both before the socket. A stream handed to the host
    // (`take_input`, `take_output`) is gone.
    input: Option<InputStream>,
    output: Option<OutputStream>,
    tls: Option<ClientConnection>,
    socket: TcpSocket,
    peer: SocketAddr,
    timeout: Duration,
}

impl Connection {
    /// Connects to `host:port` (a name or an IP address), trying each
    /// address the name resolves to, each within `timeout`.
    pub fn connect(host: &str, port: u16, timeout: Duration) -> NetResult<Connection> {
        let addresses = resolve(host, timeout)?;
        let mut last = None;
        for ip in addresses {
            match Self::connect_addr(SocketAddr::new(ip, port), timeout) {
                Ok(connection) => return Ok(connection),
                // The sandbox's answer is final: another address of the
                // same name would be refused the same way.
                Err(e @ NetError::Refused(_)) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            NetError::Unreachable(format!("{host} has no address to connect to"))
        }))
    }

    /// Connects to one address.
    pub fn connect_addr(peer: SocketAddr, timeout: Duration) -> NetResult<Connection> {
        let family = match peer {
            SocketAddr::V4(_) => IpAddressFamily::Ipv4,
            SocketAddr::V6(_) => IpAddressFamily::Ipv6,
        };
        let socket = create_tcp_socket(family)
            .map_err(|e| socket_error(&format!("connect to {peer}"), e))?;
        let network = instance_network();
        socket
            .start_connect(&network, to_wasi(peer))
            .map_err(|e| socket_error(&format!("connect to {peer}"), e))?;
        let ready = socket.subscribe();
        let (input, output) = loop {
            match socket.finish_connect() {
                Ok(streams) => break streams,
                Err(ErrorCode::WouldBlock) => {
                    if !wait(&ready, timeout) {
                        return Err(NetError::Timeout(format!(
                            "connect to {peer}: no answer within {}",
                            seconds(timeout)
                        )));
                    }
                }
                Err(e) => return Err(socket_error(&format!("connect to {peer}"), e)),
            }
        };
        drop(ready);
        Ok(Connection {
            input: Some(input),
            output: Some(output),
            tls: None,
            socket,
            peer,
            timeout,
        })
    }

    /// The address at the other end.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Changes the timeout of every later wait.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Turns the connection into a TLS connection to `server_name` (the
    /// name its certificate must carry). The host does the handshake and
    /// checks the certificate against what the remote's configuration
    /// trusts.
    pub fn start_tls(self, server_name: &str) -> NetResult<Connection> {
        let Connection {
            input,
            output,
            tls,
            socket,
            peer,
            timeout,
        } = self;
        if tls.is_some() {
            return Err(NetError::Other(format!(
                "TLS with {peer}: the connection is already encrypted"
            )));
        }
        let (Some(input), Some(output)) = (input, output) else {
            return Err(NetError::Other(format!(
                "TLS with {peer}: the connection's streams were handed to the host"
            )));
        };
        let handshake = ClientHandshake::new(server_name, input, output);
        let future = ClientHandshake::finish(handshake);
        let ready = future.subscribe();
        loop {
            match future.get() {
                Some(Ok(Ok((tls, input, output)))) => {
                    drop(ready);
                    return Ok(Connection {
                        input: Some(input),
                        output: Some(output),
                        tls: Some(tls),
                        socket,
                        peer,
                        timeout,
                    });
                }
                Some(Ok(Err(e))) => {
                    return Err(NetError::Tls(format!(
                        "TLS with {server_name} ({peer}): {}",
                        e.to_debug_string()
                    )))
                }
                Some(Err(())) => {
                    return Err(NetError::Other(format!(
                        "TLS with {server_name} ({peer}): the handshake result was already taken"
                    )))
                }
                None => {
                    if !wait(&ready, timeout) {
                        return Err(NetError::Timeout(format!(
                            "TLS with {server_name} ({peer}): no handshake within {}",
                            seconds(timeout)
                        )));
                    }
                }
            }
        }
    }

    /// Reads up to `max` bytes, waiting for at least one; an empty result
    /// means the peer closed the connection.
    pub fn read(&mut self, max: usize) -> NetResult<Vec<u8>> {
        let Some(input) = self.input.as_ref() else {
            return Ok(Vec::new());
        };
        loop {
            match input.read(max as u64) {
                Ok(bytes) if !bytes.is_empty() => return Ok(bytes),
                Ok(_) => {
                    let ready = input.subscribe();
                    if !wait(&ready, self.timeout) {
                        return Err(NetError::Timeout(format!(
                            "{}: nothing received within {}",
                            self.peer,
                            seconds(self.timeout)
                        )));
                    }
                }
                Err(StreamError::Closed) => return Ok(Vec::new()),
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(NetError::Unreachable(format!(
                        "{}: the connection failed: {}",
                        self.peer,
                        e.to_debug_string()
                    )))
                }
            }
        }
    }

    /// Writes all of `bytes` and flushes them.
    pub fn write_all(&mut self, mut bytes: &[u8]) -> NetResult<()> {
        while !bytes.is_empty() {
            let permitted = self.writable()?;
            let n = bytes.len().min(permitted);
            self.output()?
                .write(&bytes[..n])
                .map_err(|e| self.write_error(e))?;
            bytes = &bytes[n..];
        }
        self.flush()
    }

    /// Waits until everything written has been handed to the network.
    pub fn flush(&mut self) -> NetResult<()> {
        // A handed-over stream is the host's to flush, and it does before
        // it gives the write back.
        let Some(output) = self.output.as_ref() else {
            return Ok(());
        };
        output.flush().map_err(|e| self.write_error(e))?;
        self.writable().map(drop)
    }

    /// The sending stream, unless it was handed to the host.
    fn output(&self) -> NetResult<&OutputStream> {
        self.output.as_ref().ok_or_else(|| {
            NetError::Other(format!(
                "{}: the sending side was handed to the host, which writes it now",
                self.peer
            ))
        })
    }

    /// Hands the receiving stream to the host (for
    /// [`crate::Reader::take_stream`]); reads here then see the end. Only a
    /// plain connection's: over TLS the host's TLS session and the plugin
    /// would share the stream, so it stays here (`None`).
    pub fn take_input(&mut self) -> Option<InputStream> {
        if self.tls.is_some() {
            return None;
        }
        self.input.take()
    }

    /// Hands the sending stream to the host (for
    /// [`crate::Writer::take_stream`]); [`Connection::shutdown_send`] still
    /// ends the sending side once the host has flushed it. Only a plain
    /// connection's, as with [`Connection::take_input`].
    pub fn take_output(&mut self) -> Option<OutputStream> {
        if self.tls.is_some() {
            return None;
        }
        self.output.take()
    }

    /// Waits until the stream takes more bytes; returns how many.
    fn writable(&mut self) -> NetResult<usize> {
        loop {
            let output = self.output()?;
            match output.check_write() {
                Ok(0) => {
                    let ready = output.subscribe();
                    if !wait(&ready, self.timeout) {
                        return Err(NetError::Timeout(format!(
                            "{}: the peer took nothing within {}",
                            self.peer,
                            seconds(self.timeout)
                        )));
                    }
                }
                Ok(n) => return Ok(n as usize),
                Err(e) => return Err(self.write_error(e)),
            }
        }
    }

    fn write_error(&self, error: StreamError) -> NetError {
        match error {
            StreamError::Closed => {
                NetError::Unreachable(format!("{}: the peer closed the connection", self.peer))
            }
            StreamError::LastOperationFailed(e) => NetError::Unreachable(format!(
                "{}: the connection failed: {}",
                self.peer,
                e.to_debug_string()
            )),
        }
    }

    /// Ends the sending side: the peer reads end-of-file. Over TLS that is
    /// the close notification alone (the TCP connection stays open until it
    /// is dropped); otherwise the socket's sending side is shut. Reading
    /// still works.
    pub fn shutdown_send(&mut self) -> NetResult<()> {
        self.flush()?;
        match &self.tls {
            Some(tls) => {
                tls.close_output();
                // The peer may answer the close notification by closing at
                // once: everything before it was delivered.
                match self.flush() {
                    Ok(()) | Err(NetError::Unreachable(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            None => {
                let _ = self.socket.shutdown(ShutdownType::Send);
            }
        }
        Ok(())
    }
}

/// Waits for `pollable` at most `timeout`; false if the time ran out.
fn wait(pollable: &Pollable, timeout: Duration) -> bool {
    let timer = subscribe_duration(timeout.as_nanos().min(u64::MAX as u128) as u64);
    let ready = poll(&[pollable, &timer]);
    ready.contains(&0)
}

fn seconds(timeout: Duration) -> String {
    format!("{} s", timeout.as_secs_f64())
}

/// The addresses of `host`: itself if it is an IP address, else what the
/// host's resolver answers (when the sandbox allows lookups).
fn resolve(host: &str, timeout: Duration) -> NetResult<Vec<IpAddr>> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let network = instance_network();
    let lookup = resolve_addresses(&network, host)
        .map_err(|e| socket_error(&format!("look up {host}"), e))?;
    let ready = lookup.subscribe();
    let mut addresses = Vec::new();
    loop {
        match lookup.resolve_next_address() {
            Ok(Some(address)) => addresses.push(from_wasi_ip(address)),
            Ok(None) => break,
            Err(ErrorCode::WouldBlock) => {
                if !wait(&ready, timeout) {
                    return Err(NetError::Timeout(format!(
                        "look up {host}: no answer within {}",
                        seconds(timeout)
                    )));
                }
            }
            Err(e) => return Err(socket_error(&format!("look up {host}"), e)),
        }
    }
    Ok(addresses)
}

fn socket_error(what: &str, code: ErrorCode) -> NetError {
    match code {
        ErrorCode::AccessDenied | ErrorCode::NotSupported => NetError::Refused(format!(
            "{what}: refused by the sandbox (the address is not in this remote's grant)"
        )),
        ErrorCode::ConnectionRefused => NetError::Unreachable(format!(
            "{what}: connection refused (is the server running?)"
        )),
        ErrorCode::ConnectionReset
        | ErrorCode::ConnectionAborted
        | ErrorCode::RemoteUnreachable => NetError::Unreachable(format!("{what}: {code:?}")),
        ErrorCode::Timeout => NetError::Timeout(format!("{what}: timed out")),
        ErrorCode::NameUnresolvable | ErrorCode::TemporaryResolverFailure => {
            NetError::Unreachable(format!("{what}: the name does not resolve"))
        }
        other => NetError::Other(format!("{what}: {other:?}")),
    }
}

fn to_wasi(address: SocketAddr) -> IpSocketAddress {
    match address {
        SocketAddr::V4(v4) => {
            let [a, b, c, d] = v4.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: v4.port(),
                address: (a, b, c, d),
            })
        }
        SocketAddr::V6(v6) => {
            let s = v6.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: v6.port(),
                flow_info: v6.flowinfo(),
                address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                scope_id: v6.scope_id(),
            })
        }
    }
}

fn from_wasi_ip(address: IpAddress) -> IpAddr {
    match address {
        IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h))
        }
    }
}
