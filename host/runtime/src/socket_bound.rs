//! `wasi:sockets/tcp-create-socket`, bounded per instance. Each socket is
//! a descriptor of the host process from the moment it is created (before
//! any connection is checked), and descriptors are shared by every remote:
//! without a bound, one plugin could take them all. The count is of the
//! sockets the instance holds now, so a dropped socket frees its place.

use wasmtime::component::{HasData, Resource};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily};
use wasmtime_wasi::p2::bindings::sockets::tcp_create_socket::Host;
use wasmtime_wasi::p2::{SocketError, TcpSocket};
use wasmtime_wasi::sockets::WasiSocketsCtxView;

use crate::policy::RefusalLog;

/// Socket creation for one instance: wasmtime's, behind the bound.
pub(crate) struct SocketBound<'a> {
    pub sockets: WasiSocketsCtxView<'a>,
    pub max: usize,
    pub log: &'a RefusalLog,
}

/// Marks [`SocketBound`] as the data the creation function gets.
pub(crate) struct SocketBounds;

impl HasData for SocketBounds {
    type Data<'a> = SocketBound<'a>;
}

impl Host for SocketBound<'_> {
    fn create_tcp_socket(
        &mut self,
        family: IpAddressFamily,
    ) -> Result<Resource<TcpSocket>, SocketError> {
        let held = self
            .sockets
            .table
            .iter_mut()
            .filter(|entry| (**entry).is::<TcpSocket>())
            .count();
        if held >= self.max {
            self.log.bound(format!(
                "holds {held} TCP sockets, the most an instance may (max_sockets = {}); if it \
                 really needs more at once, raise max_sockets in the remote's configuration",
                self.max
            ));
            return Err(ErrorCode::NewSocketLimit.into());
        }
        Host::create_tcp_socket(&mut self.sockets, family)
    }
}

// Its bindings ask for `network`'s error conversion too: wasmtime's.
impl wasmtime_wasi::p2::bindings::sockets::network::Host for SocketBound<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        error.downcast()
    }

    fn network_error_code(
        &mut self,
        error: Resource<wasmtime_wasi::p2::bindings::sockets::network::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        wasmtime_wasi::p2::bindings::sockets::network::Host::network_error_code(
            &mut self.sockets,
            error,
        )
    }
}

impl wasmtime_wasi::p2::bindings::sockets::network::HostNetwork for SocketBound<'_> {
    fn drop(
        &mut self,
        network: Resource<wasmtime_wasi::p2::bindings::sockets::network::Network>,
    ) -> wasmtime::Result<()> {
        self.sockets.table.delete(network)?;
        Ok(())
    }
}
