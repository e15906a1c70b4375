//! `wasi:sockets/tcp` and `tcp-create-socket`, the host's own, in place of
//! wasmtime-wasi's (the linker's shadowing, as for name lookups).
//!
//! Why: wasmtime-wasi's TCP streams move at most 64 KiB per read and per
//! write, through a task per write, and its socket types are private, so
//! the host cannot reach the descriptor under a stream a plugin hands over
//! (an FTP data connection). Sending 1 GiB to pure-ftpd on loopback took
//! 16,396 `sendto` calls of 64 KiB where rclone makes 1,141 writes of about
//! 1 MiB, and the kernel's time per call made the difference (`strace -c`).
//! Here a connection is a tokio `TcpStream` the streams share, and a stream
//! the plugin hands over is read and written by the host straight on the
//! socket, as much as the kernel takes in one call ([`HandedSocket`]).
//!
//! Every connection passes the same address check wasmtime's did
//! ([`NetworkPolicy::check_socket`]); listening and accepting are refused,
//! as they were (a plugin only connects out); the number of sockets an
//! instance holds is bounded (`max_sockets`).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use wasmtime::component::{HasData, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Network,
};
use wasmtime_wasi::p2::bindings::sockets::tcp::{self, ShutdownType};
use wasmtime_wasi::p2::{
    DynInputStream, DynOutputStream, DynPollable, InputStream, OutputStream, Pollable, SocketError,
    SocketResult, StreamError, StreamResult, TcpSocket,
};
use wasmtime_wasi::sockets::SocketAddrUse;

use crate::policy::{NetworkPolicy, RefusalLog};

/// The most a plugin's own read takes at once: what the host allocates for
/// it (a plugin's bulk transfers go through the host, [`HandedSocket`]).
const GUEST_READ_MAX: usize = 64 * 1024;

/// The most a plugin may write before its bytes are on their way: what the
/// host holds for a stream whose peer is slow.
const GUEST_WRITE_MAX: usize = 256 * 1024;

/// What the host does with `wasi:sockets/tcp` calls of one instance.
pub(crate) struct TcpView<'a> {
    pub table: &'a mut ResourceTable,
    pub policy: &'a NetworkPolicy,
    pub handed: &'a mut HandedSockets,
    pub max: usize,
    pub log: &'a RefusalLog,
}

/// Marks [`TcpView`] as the data the TCP functions get.
pub(crate) struct TcpCalls;

impl HasData for TcpCalls {
    type Data<'a> = TcpView<'a>;
}

/// One socket of a plugin (the table's entry behind its `tcp-socket`).
pub(crate) struct Socket {
    family: IpAddressFamily,
    state: State,
}

enum State {
    /// Made, not connected.
    Fresh(tokio::net::TcpSocket),
    /// `start-connect` was called.
    Connecting(Pin<Box<dyn Future<Output = io::Result<tokio::net::TcpStream>> + Send>>),
    /// Connected, waiting for `finish-connect`.
    Connected(tokio::net::TcpStream),
    /// `finish-connect` gave out the streams.
    Streaming(Arc<Connection>),
    /// The connection failed, or was never possible.
    Failed(ErrorCode),
}

/// A connection, shared by its socket and its two streams.
pub(crate) struct Connection {
    stream: tokio::net::TcpStream,
    /// Bytes the plugin wrote that the kernel has not taken yet.
    unsent: Mutex<Unsent>,
}

#[derive(Default)]
struct Unsent {
    bytes: Bytes,
    /// The sending side is to be shut once `bytes` are sent.
    shut_after: bool,
}

impl Connection {
    /// Hands as much of the unsent bytes to the kernel as it takes now;
    /// true when none are left.
    fn send_unsent(&self) -> io::Result<bool> {
        let mut unsent = self.unsent.lock().unwrap();
        while !unsent.bytes.is_empty() {
            match self.stream.try_write(&unsent.bytes) {
                Ok(n) => {
                    let _ = unsent.bytes.split_to(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => {
                    unsent.bytes.clear();
                    return Err(e);
                }
            }
        }
        if std::mem::take(&mut unsent.shut_after) {
            self.shutdown(libc::SHUT_WR);
        }
        Ok(true)
    }

    /// Waits until the kernel has taken every unsent byte.
    async fn sent(&self) -> io::Result<()> {
        while !self.send_unsent()? {
            self.stream.writable().await?;
        }
        Ok(())
    }

    fn shutdown(&self, how: libc::c_int) {
        // SAFETY: the descriptor is the stream's, open while `self` lives.
        unsafe { libc::shutdown(self.stream.as_raw_fd(), how) };
    }
}

/// The streams this instance's connections gave out, by their table
/// entries: a stream the plugin hands over is found here, so the host
/// moves its bytes on the socket itself. Each entry holds the stream's tag,
/// which only the stream holds strongly: an entry whose stream is gone
/// (and whose place in the table may now be another resource's) is dead.
#[derive(Default)]
pub(crate) struct HandedSockets {
    streams: HashMap<u32, (Weak<()>, Weak<Connection>)>,
}

impl HandedSockets {
    fn insert(&mut self, rep: u32, tag: &Arc<()>, connection: &Arc<Connection>) {
        self.streams.retain(|_, (tag, _)| tag.strong_count() > 0);
        self.streams
            .insert(rep, (Arc::downgrade(tag), Arc::downgrade(connection)));
    }

    /// The connection under the stream at `rep`, if it is one of ours and
    /// still alive.
    pub fn connection(&mut self, rep: u32) -> Option<Arc<Connection>> {
        let (tag, connection) = self.streams.remove(&rep)?;
        tag.upgrade()?;
        connection.upgrade()
    }
}

impl TcpView<'_> {
    fn socket(&mut self, this: &Resource<TcpSocket>) -> SocketResult<&mut Socket> {
        Ok(self
            .table
            .get_mut(&Resource::<Socket>::new_borrow(this.rep()))?)
    }

    fn connection(&mut self, this: &Resource<TcpSocket>) -> SocketResult<Arc<Connection>> {
        match &self.socket(this)?.state {
            State::Streaming(connection) => Ok(connection.clone()),
            _ => Err(ErrorCode::InvalidState.into()),
        }
    }

    /// The socket option `name` at `level`, an integer.
    fn get_option(
        &mut self,
        this: &Resource<TcpSocket>,
        level: libc::c_int,
        name: libc::c_int,
    ) -> SocketResult<libc::c_int> {
        self.with_fd(this, |fd| get_option(fd, level, name))
    }

    /// Sets the integer socket option `name` at `level`.
    fn set_option(
        &mut self,
        this: &Resource<TcpSocket>,
        level: libc::c_int,
        name: libc::c_int,
        value: libc::c_int,
    ) -> SocketResult<()> {
        self.with_fd(this, |fd| set_option(fd, level, name, value))
    }

    /// Runs `f` on the connected socket's descriptor.
    fn with_fd<T>(
        &mut self,
        this: &Resource<TcpSocket>,
        f: impl FnOnce(libc::c_int) -> io::Result<T>,
    ) -> SocketResult<T> {
        let fd = match &self.socket(this)?.state {
            State::Fresh(socket) => socket.as_raw_fd(),
            State::Connected(stream) => stream.as_raw_fd(),
            State::Streaming(connection) => connection.stream.as_raw_fd(),
            State::Connecting(_) | State::Failed(_) => return Err(ErrorCode::InvalidState.into()),
        };
        Ok(f(fd)?)
    }
}

impl tcp::Host for TcpView<'_> {}

impl wasmtime_wasi::p2::bindings::sockets::tcp_create_socket::Host for TcpView<'_> {
    fn create_tcp_socket(&mut self, family: IpAddressFamily) -> SocketResult<Resource<TcpSocket>> {
        // Each socket is a descriptor of the host process from now on, and
        // descriptors are shared by every remote: without a bound, one
        // plugin could take them all.
        let held = self
            .table
            .iter_mut()
            .filter(|entry| (**entry).is::<Socket>())
            .count();
        if held >= self.max {
            self.log.bound(format!(
                "holds {held} TCP sockets, the most an instance may (max_sockets = {}); if it \
                 really needs more at once, raise max_sockets in the remote's configuration",
                self.max
            ));
            return Err(ErrorCode::NewSocketLimit.into());
        }
        let socket = match family {
            IpAddressFamily::Ipv4 => tokio::net::TcpSocket::new_v4(),
            IpAddressFamily::Ipv6 => tokio::net::TcpSocket::new_v6(),
        }?;
        let socket = self.table.push(Socket {
            family,
            state: State::Fresh(socket),
        })?;
        Ok(Resource::new_own(socket.rep()))
    }
}

impl tcp::HostTcpSocket for TcpView<'_> {
    async fn start_bind(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        local_address: IpSocketAddress,
    ) -> SocketResult<()> {
        self.table.get(&network)?;
        let address = SocketAddr::from(local_address);
        // A plugin binds nothing of its own: the policy allows only the
        // bind every connect makes (any address, any port), which then
        // needs no call here.
        if !self.policy.check_socket(address, SocketAddrUse::TcpBind) {
            return Err(ErrorCode::AccessDenied.into());
        }
        match self.socket(&this)?.state {
            State::Fresh(_) => Ok(()),
            _ => Err(ErrorCode::InvalidState.into()),
        }
    }

    fn finish_bind(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        match self.socket(&this)?.state {
            State::Fresh(_) => Ok(()),
            _ => Err(ErrorCode::NotInProgress.into()),
        }
    }

    fn start_connect(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        remote_address: IpSocketAddress,
    ) -> SocketResult<()> {
        self.table.get(&network)?;
        let address = SocketAddr::from(remote_address);
        let family = self.socket(&this)?.family;
        if !valid_remote(address, family) {
            return Err(ErrorCode::InvalidArgument.into());
        }
        if !matches!(self.socket(&this)?.state, State::Fresh(_)) {
            return Err(ErrorCode::InvalidState.into());
        }
        if !self.policy.check_socket(address, SocketAddrUse::TcpConnect) {
            return Err(ErrorCode::AccessDenied.into());
        }
        let socket = self.socket(&this)?;
        let State::Fresh(fresh) =
            std::mem::replace(&mut socket.state, State::Failed(ErrorCode::Unknown))
        else {
            unreachable!("checked above");
        };
        socket.state = State::Connecting(Box::pin(fresh.connect(address)));
        Ok(())
    }

    fn finish_connect(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> SocketResult<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        let socket = self.socket(&this)?;
        // Pending leaves the socket `Connecting`, answered below.
        let _ = socket.poll_connect(&mut Context::from_waker(std::task::Waker::noop()));
        let stream = match std::mem::replace(&mut socket.state, State::Failed(ErrorCode::Unknown)) {
            State::Connected(stream) => stream,
            State::Failed(code) => return Err(code.into()),
            other @ State::Connecting(_) => {
                socket.state = other;
                return Err(ErrorCode::WouldBlock.into());
            }
            other => {
                socket.state = other;
                return Err(ErrorCode::NotInProgress.into());
            }
        };
        let connection = Arc::new(Connection {
            stream,
            unsent: Mutex::default(),
        });
        socket.state = State::Streaming(connection.clone());
        let input = SocketInput {
            connection: connection.clone(),
            tag: Arc::new(()),
            ended: false,
        };
        let output = SocketOutput {
            connection: connection.clone(),
            tag: Arc::new(()),
        };
        let (input_tag, output_tag) = (input.tag.clone(), output.tag.clone());
        let input: DynInputStream = Box::new(input);
        let output: DynOutputStream = Box::new(output);
        let input = self.table.push_child(input, &this)?;
        let output = self.table.push_child(output, &this)?;
        self.handed.insert(input.rep(), &input_tag, &connection);
        self.handed.insert(output.rep(), &output_tag, &connection);
        Ok((input, output))
    }

    async fn start_listen(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        let family = self.socket(&this)?.family;
        let any = match family {
            IpAddressFamily::Ipv4 => IpAddr::from([0u8; 4]),
            IpAddressFamily::Ipv6 => IpAddr::from([0u16; 8]),
        };
        // The policy refuses, and records the refusal for the user.
        let allowed = self
            .policy
            .check_socket(SocketAddr::new(any, 0), SocketAddrUse::TcpListen);
        debug_assert!(!allowed, "no grant lets a plugin listen");
        Err(ErrorCode::AccessDenied.into())
    }

    fn finish_listen(&mut self, _this: Resource<TcpSocket>) -> SocketResult<()> {
        Err(ErrorCode::NotInProgress.into())
    }

    fn accept(
        &mut self,
        _this: Resource<TcpSocket>,
    ) -> SocketResult<(
        Resource<TcpSocket>,
        Resource<DynInputStream>,
        Resource<DynOutputStream>,
    )> {
        Err(ErrorCode::InvalidState.into())
    }

    fn local_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        let address = match &self.socket(&this)?.state {
            State::Fresh(socket) => socket.local_addr()?,
            State::Connected(stream) => stream.local_addr()?,
            State::Streaming(connection) => connection.stream.local_addr()?,
            State::Connecting(_) | State::Failed(_) => return Err(ErrorCode::InvalidState.into()),
        };
        Ok(address.into())
    }

    fn remote_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        let address = match &self.socket(&this)?.state {
            State::Connected(stream) => stream.peer_addr()?,
            State::Streaming(connection) => connection.stream.peer_addr()?,
            _ => return Err(ErrorCode::InvalidState.into()),
        };
        Ok(address.into())
    }

    fn is_listening(&mut self, _this: Resource<TcpSocket>) -> wasmtime::Result<bool> {
        Ok(false)
    }

    fn address_family(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<IpAddressFamily> {
        Ok(self
            .table
            .get(&Resource::<Socket>::new_borrow(this.rep()))?
            .family)
    }

    fn set_listen_backlog_size(
        &mut self,
        _this: Resource<TcpSocket>,
        _value: u64,
    ) -> SocketResult<()> {
        Err(ErrorCode::NotSupported.into())
    }

    fn keep_alive_enabled(&mut self, this: Resource<TcpSocket>) -> SocketResult<bool> {
        self.get_option(&this, libc::SOL_SOCKET, libc::SO_KEEPALIVE)
            .map(|v| v != 0)
    }

    fn set_keep_alive_enabled(
        &mut self,
        this: Resource<TcpSocket>,
        value: bool,
    ) -> SocketResult<()> {
        self.set_option(&this, libc::SOL_SOCKET, libc::SO_KEEPALIVE, value.into())
    }

    fn keep_alive_idle_time(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        self.get_option(&this, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE)
            .map(seconds_to_nanos)
    }

    fn set_keep_alive_idle_time(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        let seconds = nanos_to_seconds(value)?;
        self.set_option(&this, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, seconds)
    }

    fn keep_alive_interval(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        self.get_option(&this, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL)
            .map(seconds_to_nanos)
    }

    fn set_keep_alive_interval(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        let seconds = nanos_to_seconds(value)?;
        self.set_option(&this, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, seconds)
    }

    fn keep_alive_count(&mut self, this: Resource<TcpSocket>) -> SocketResult<u32> {
        self.get_option(&this, libc::IPPROTO_TCP, libc::TCP_KEEPCNT)
            .map(|v| v as u32)
    }

    fn set_keep_alive_count(&mut self, this: Resource<TcpSocket>, value: u32) -> SocketResult<()> {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument.into());
        }
        let count = libc::c_int::try_from(value).map_err(|_| ErrorCode::InvalidArgument)?;
        self.set_option(&this, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, count)
    }

    fn hop_limit(&mut self, this: Resource<TcpSocket>) -> SocketResult<u8> {
        let (level, name) = self.hop_option(&this)?;
        self.get_option(&this, level, name).map(|v| v as u8)
    }

    fn set_hop_limit(&mut self, this: Resource<TcpSocket>, value: u8) -> SocketResult<()> {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument.into());
        }
        let (level, name) = self.hop_option(&this)?;
        self.set_option(&this, level, name, value.into())
    }

    fn receive_buffer_size(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        self.get_option(&this, libc::SOL_SOCKET, libc::SO_RCVBUF)
            .map(|v| v as u64)
    }

    fn set_receive_buffer_size(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        let size = buffer_size(value)?;
        self.set_option(&this, libc::SOL_SOCKET, libc::SO_RCVBUF, size)
    }

    fn send_buffer_size(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        self.get_option(&this, libc::SOL_SOCKET, libc::SO_SNDBUF)
            .map(|v| v as u64)
    }

    fn set_send_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        let size = buffer_size(value)?;
        self.set_option(&this, libc::SOL_SOCKET, libc::SO_SNDBUF, size)
    }

    fn subscribe(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(self.table, Resource::<Socket>::new_borrow(this.rep()))
    }

    fn shutdown(&mut self, this: Resource<TcpSocket>, how: ShutdownType) -> SocketResult<()> {
        let connection = self.connection(&this)?;
        if matches!(how, ShutdownType::Receive | ShutdownType::Both) {
            connection.shutdown(libc::SHUT_RD);
        }
        if matches!(how, ShutdownType::Send | ShutdownType::Both) {
            // Bytes written before are sent first: the peer reads them,
            // then the end.
            connection.unsent.lock().unwrap().shut_after = true;
            match connection.send_unsent() {
                Ok(true) | Err(_) => {}
                Ok(false) => {
                    tokio::spawn(async move {
                        let _ = connection.sent().await;
                    });
                }
            }
        }
        Ok(())
    }

    fn drop(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<()> {
        self.table.delete(Resource::<Socket>::new_own(this.rep()))?;
        Ok(())
    }
}

impl Socket {
    /// Moves a connect along: `Connecting` becomes `Connected` or `Failed`
    /// once the connect has ended.
    fn poll_connect(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let State::Connecting(connect) = &mut self.state else {
            return Poll::Ready(());
        };
        let result = std::task::ready!(connect.as_mut().poll(cx));
        self.state = match result {
            Ok(stream) => State::Connected(stream),
            Err(e) => State::Failed(ErrorCode::from(wasmtime_wasi::sockets::ErrorCode::from(e))),
        };
        Poll::Ready(())
    }
}

#[async_trait::async_trait]
impl Pollable for Socket {
    async fn ready(&mut self) {
        std::future::poll_fn(|cx| self.poll_connect(cx)).await
    }
}

/// The receiving side of a connection, as the plugin reads it.
struct SocketInput {
    connection: Arc<Connection>,
    /// Alive as long as this stream (see [`HandedSockets`]).
    tag: Arc<()>,
    ended: bool,
}

#[async_trait::async_trait]
impl InputStream for SocketInput {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        if self.ended {
            return Err(StreamError::Closed);
        }
        let size = size.min(GUEST_READ_MAX);
        if size == 0 {
            return Ok(Bytes::new());
        }
        // Limited: an allocation may hold more than asked, and the plugin
        // must get no more than it asked for.
        let mut buffer = BytesMut::with_capacity(size);
        match self
            .connection
            .stream
            .try_read_buf(&mut (&mut buffer).limit(size))
        {
            Ok(0) => {
                self.ended = true;
                Err(StreamError::Closed)
            }
            Ok(_) => Ok(buffer.freeze()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Bytes::new()),
            Err(e) => {
                self.ended = true;
                Err(stream_error(e))
            }
        }
    }
}

#[async_trait::async_trait]
impl Pollable for SocketInput {
    async fn ready(&mut self) {
        if !self.ended {
            // An error shows at the next read.
            let _ = self.connection.stream.readable().await;
        }
    }
}

/// The sending side of a connection, as the plugin writes it.
struct SocketOutput {
    connection: Arc<Connection>,
    /// Alive as long as this stream (see [`HandedSockets`]).
    tag: Arc<()>,
}

#[async_trait::async_trait]
impl OutputStream for SocketOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let mut unsent = self.connection.unsent.lock().unwrap();
        if !unsent.bytes.is_empty() || bytes.len() > GUEST_WRITE_MAX {
            return Err(StreamError::Trap(wasmtime::format_err!(
                "the plugin wrote {} bytes to a TCP stream that permitted fewer \
                 (check-write first)",
                bytes.len()
            )));
        }
        unsent.bytes = bytes;
        drop(unsent);
        self.connection
            .send_unsent()
            .map(drop)
            .map_err(stream_error)
    }

    fn flush(&mut self) -> StreamResult<()> {
        // Bytes go to the kernel as soon as it takes them; `ready` waits
        // until it has taken them all.
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        match self.connection.send_unsent() {
            Ok(true) => Ok(GUEST_WRITE_MAX),
            Ok(false) => Ok(0),
            Err(e) => Err(stream_error(e)),
        }
    }
}

#[async_trait::async_trait]
impl Pollable for SocketOutput {
    async fn ready(&mut self) {
        // An error shows at the next check-write.
        let _ = self.connection.sent().await;
    }
}

/// A connection under a stream the plugin handed over, which the host
/// reads or writes itself, as much at once as the kernel takes.
pub(crate) struct HandedSocket {
    connection: Arc<Connection>,
}

impl HandedSocket {
    pub fn new(connection: Arc<Connection>) -> Self {
        HandedSocket { connection }
    }

    /// Reads what has arrived (at most `max` bytes) onto the end of
    /// `buffer`; `Ok(0)` at the end of the stream. Waits for something to
    /// arrive.
    pub async fn read(&self, buffer: &mut Vec<u8>, max: usize) -> io::Result<usize> {
        buffer.reserve_exact(max);
        loop {
            match self
                .connection
                .stream
                .try_read_buf(&mut (&mut *buffer).limit(max))
            {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.connection.stream.readable().await?;
                }
                result => return result,
            }
        }
    }

    /// Writes all of `bytes`, after anything the plugin left unsent,
    /// waiting at most `timeout` each time the kernel takes nothing.
    pub async fn write(&self, mut bytes: &[u8], timeout: Duration) -> Result<(), WriteError> {
        self.flush(timeout).await?;
        while !bytes.is_empty() {
            match self.connection.stream.try_write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    tokio::time::timeout(timeout, self.connection.stream.writable())
                        .await
                        .map_err(|_| WriteError::Silent(timeout))?
                        .map_err(WriteError::Failed)?;
                }
                Err(e) => return Err(WriteError::Failed(e)),
            }
        }
        Ok(())
    }

    /// Waits until everything written is in the kernel's hands.
    pub async fn flush(&self, timeout: Duration) -> Result<(), WriteError> {
        tokio::time::timeout(timeout, self.connection.sent())
            .await
            .map_err(|_| WriteError::Silent(timeout))?
            .map_err(WriteError::Failed)
    }
}

/// Why a write to a handed-over socket failed.
pub(crate) enum WriteError {
    /// The kernel took nothing within the timeout.
    Silent(Duration),
    Failed(io::Error),
}

fn stream_error(error: io::Error) -> StreamError {
    StreamError::LastOperationFailed(wasmtime::Error::from(
        wasmtime_wasi::sockets::ErrorCode::from(error),
    ))
}

/// A remote address a socket of `family` may connect to.
fn valid_remote(address: SocketAddr, family: IpAddressFamily) -> bool {
    if address.port() == 0 {
        return false;
    }
    match (address.ip(), family) {
        (IpAddr::V4(ip), IpAddressFamily::Ipv4) => {
            !ip.is_unspecified() && !ip.is_multicast() && !ip.is_broadcast()
        }
        (IpAddr::V6(ip), IpAddressFamily::Ipv6) => {
            !ip.is_unspecified() && !ip.is_multicast() && ip.to_ipv4_mapped().is_none()
        }
        _ => false,
    }
}

impl TcpView<'_> {
    fn hop_option(&mut self, this: &Resource<TcpSocket>) -> SocketResult<(i32, i32)> {
        Ok(match self.socket(this)?.family {
            IpAddressFamily::Ipv4 => (libc::IPPROTO_IP, libc::IP_TTL),
            IpAddressFamily::Ipv6 => (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS),
        })
    }
}

fn get_option(fd: libc::c_int, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut length = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `length` are valid for the call.
    let result =
        unsafe { libc::getsockopt(fd, level, name, (&raw mut value).cast(), &raw mut length) };
    if result == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

fn set_option(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is valid for the call.
    let result = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn seconds_to_nanos(seconds: libc::c_int) -> u64 {
    (seconds.max(0) as u64).saturating_mul(1_000_000_000)
}

/// Keep-alive times are whole seconds, at least one.
fn nanos_to_seconds(nanos: u64) -> Result<libc::c_int, SocketError> {
    if nanos == 0 {
        return Err(ErrorCode::InvalidArgument.into());
    }
    let seconds = nanos.div_ceil(1_000_000_000);
    Ok(libc::c_int::try_from(seconds).unwrap_or(libc::c_int::MAX))
}

fn buffer_size(value: u64) -> Result<libc::c_int, SocketError> {
    if value == 0 {
        return Err(ErrorCode::InvalidArgument.into());
    }
    Ok(libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX))
}

// The bindings ask for `network`'s error conversion too: wasmtime's.
impl wasmtime_wasi::p2::bindings::sockets::network::Host for TcpView<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        error.downcast()
    }

    fn network_error_code(
        &mut self,
        error: Resource<wasmtime_wasi::p2::bindings::sockets::network::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        Ok(error_code_of(self.table.get(&error)?))
    }
}

/// The socket error code of a stream's error, for
/// `network-error-code`: the host's TCP streams fail with a socket error
/// code, its name lookups with the resolver's I/O error.
pub(crate) fn error_code_of(error: &wasmtime::Error) -> Option<ErrorCode> {
    if let Some(code) = error.downcast_ref::<wasmtime_wasi::sockets::ErrorCode>() {
        return Some(ErrorCode::from(*code));
    }
    error.downcast_ref::<io::Error>().map(ErrorCode::from)
}

impl wasmtime_wasi::p2::bindings::sockets::network::HostNetwork for TcpView<'_> {
    fn drop(&mut self, network: Resource<Network>) -> wasmtime::Result<()> {
        self.table.delete(network)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_that_is_gone_is_not_found_under_its_old_place() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stream = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let connection = Arc::new(Connection {
            stream,
            unsent: Mutex::default(),
        });
        let mut handed = HandedSockets::default();
        let (live, gone) = (Arc::new(()), Arc::new(()));
        handed.insert(1, &live, &connection);
        handed.insert(2, &gone, &connection);
        // The stream at 2 was dropped; its place may be another resource's.
        drop(gone);
        assert!(handed.connection(2).is_none());
        assert!(handed.connection(1).is_some());
        // Taken once: the stream left the table with it.
        assert!(handed.connection(1).is_none());
    }
}
