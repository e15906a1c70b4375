//! `wasi:sockets/ip-name-lookup`, answered from the network policy instead
//! of the system resolver. wasmtime's own implementation resolves any name
//! once lookups are on, and a lookup of `<secret>.attacker.example` carries
//! data out without a connection. Here a plugin may look up only the names
//! its grant holds, and gets the addresses the policy resolved (once, when
//! the instance started) and checked; any other name is refused and logged.

use std::net::IpAddr;

use wasmtime::component::{HasData, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    Host, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddress, Network};
use wasmtime_wasi::p2::{DynPollable, Pollable, SocketError};

use crate::policy::NetworkPolicy;

/// The lookups of one instance: its resource table and its policy.
pub(crate) struct NameLookup<'a> {
    pub table: &'a mut ResourceTable,
    pub policy: &'a NetworkPolicy,
}

/// Marks [`NameLookup`] as the data the lookup functions get.
pub(crate) struct NameLookups;

impl HasData for NameLookups {
    type Data<'a> = NameLookup<'a>;
}

/// An answer, already complete: the table holds it where wasmtime's
/// `ResolveAddressStream` would be (its handle carries that type name to
/// the guest, and only these functions look inside).
struct Answer(std::vec::IntoIter<IpAddr>);

#[async_trait::async_trait]
impl Pollable for Answer {
    async fn ready(&mut self) {}
}

fn answer(stream: &Resource<ResolveAddressStream>) -> Resource<Answer> {
    Resource::new_borrow(stream.rep())
}

impl Host for NameLookup<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ResolveAddressStream>, SocketError> {
        // The network handle is the capability to look up; check it is one.
        self.table.get(&network)?;
        let Some(addresses) = self.policy.lookup(&name) else {
            return Err(ErrorCode::AccessDenied.into());
        };
        let pushed = self.table.push(Answer(addresses.into_iter()))?;
        Ok(Resource::new_own(pushed.rep()))
    }
}

impl HostResolveAddressStream for NameLookup<'_> {
    fn resolve_next_address(
        &mut self,
        stream: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        let answer = self.table.get_mut(&answer(&stream))?;
        Ok(answer.0.next().map(IpAddress::from))
    }

    fn subscribe(
        &mut self,
        stream: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(self.table, answer(&stream))
    }

    fn drop(&mut self, stream: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        self.table
            .delete(Resource::<Answer>::new_own(stream.rep()))?;
        Ok(())
    }
}

// The lookup interface uses `network`'s error code, so its bindings ask for
// the error conversion too; it is the same as wasmtime's.
impl wasmtime_wasi::p2::bindings::sockets::network::Host for NameLookup<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        error.downcast()
    }

    fn network_error_code(
        &mut self,
        error: Resource<wasmtime_wasi::p2::bindings::sockets::network::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        Ok(crate::tcp::error_code_of(self.table.get(&error)?))
    }
}

impl wasmtime_wasi::p2::bindings::sockets::network::HostNetwork for NameLookup<'_> {
    fn drop(&mut self, network: Resource<Network>) -> wasmtime::Result<()> {
        self.table.delete(network)?;
        Ok(())
    }
}
