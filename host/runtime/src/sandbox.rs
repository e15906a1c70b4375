//! What a plugin instance can reach: the WASI context built from its grant.
//! Nothing is inherited from the host process: no environment, no
//! arguments, no standard input, only the directories the grant names, and
//! only the network endpoints it names (checked on every connection and
//! every HTTP request, see `policy.rs`).

use std::future::Future;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};
use wasmtime_wasi_tls::{WasiTlsCtx, WasiTlsCtxBuilder, WasiTlsCtxView, WasiTlsView};

use crate::grant::Grant;
use crate::http_client::{HttpClient, HttpPool};
use crate::limits::{HostMemoryHit, MemoryLimiter};
use crate::policy::{NetworkPolicy, RefusalLog};
use crate::stderr_tail::StderrTail;
use crate::Limits;
use crate::{Error, ErrorKind, Result};

/// How much of a plugin's standard error is kept (the last bytes it
/// wrote), to quote when it crashes.
const STDERR_KEPT: usize = 64 * 1024;
/// The most one set of header fields may hold (wasmtime's default is
/// 128 KiB).
const FIELD_SIZE_LIMIT: usize = 64 * 1024;
/// What a header costs beyond its name and value, in a `HeaderMap`.
const HEADER_OVERHEAD: usize = 64;
/// What a request body may hold while it waits for the network: the
/// chunks below.
const OUTGOING_BODY_CHUNKS: usize = 8;
const OUTGOING_BODY_CHUNK_SIZE: usize = 64 * 1024;
const OUTGOING_BODY_BUFFER: usize = OUTGOING_BODY_CHUNKS * OUTGOING_BODY_CHUNK_SIZE;
/// What any other handle is counted as: its table entry and the host
/// object behind it.
const HANDLE_COST: usize = 512;

/// The data of one plugin instance's store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: HttpHooks,
    tls: WasiTlsCtx,
    pub limiter: MemoryLimiter,
    refusals: RefusalLog,
    policy: Arc<NetworkPolicy>,
    stderr: StderrTail,
    max_sockets: usize,
    host_memory: usize,
    /// For an overlay, the store below it.
    below: Option<crate::overlay::Below>,
    /// The blocks this instance has in the host's hands to compress.
    deflate_load: Arc<crate::deflate::DeflateLoad>,
    /// Where what the plugin tells the user goes.
    notices: crate::Notices,
    /// Epoch ticks left before the current call's deadline.
    pub ticks_left: u64,
    /// The streams of the instance's TCP connections (see `tcp.rs`).
    handed_sockets: crate::tcp::HandedSockets,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiTlsView for HostState {
    fn tls(&mut self) -> WasiTlsCtxView<'_> {
        WasiTlsCtxView {
            ctx: &mut self.tls,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.hooks,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

/// Outgoing HTTP requests pass the policy, then go out through the
/// instance's connection pool (the host does TLS, see `http_client.rs`).
struct HttpHooks {
    policy: Arc<NetworkPolicy>,
    client: Arc<HttpClient>,
}

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        _ = fut;
        if !self.policy.check_http(request.uri()) {
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let client = self.client.clone();
        Box::new(async move { client.send(request, options).await })
    }

    // What a plugin writes to a request body waits here until the network
    // takes it. wasmtime's default (two 1 MiB chunks) held 2 MiB per upload
    // in flight; 512 KiB upload as fast (1 GiB to SeaweedFS, 1.4 s of noise
    // either way) and took 6 MiB off the peak RSS. The same 512 KiB in
    // eight chunks of 64 KiB rather than two of 256 took 1.6 MiB more off
    // an upload of 384 MiB to S3 (median of ten, 33.1 against 34.7 MiB),
    // as fast: each chunk is a fresh allocation, and hyper queues whole
    // chunks up to its 400 KiB, so big ones sat twice per request and
    // left big holes behind.
    fn p2_outgoing_body_buffer_chunks(&mut self) -> usize {
        OUTGOING_BODY_CHUNKS
    }

    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        OUTGOING_BODY_CHUNK_SIZE
    }
}

impl HostState {
    /// Takes a resource the plugin handed over (a stream from
    /// `take-stream`) out of its table: from now on the host holds it, and
    /// the plugin has nothing left of it. Fails, as a broken contract,
    /// when the plugin still holds a child of it (a pollable).
    pub(crate) fn take_handed<T: 'static>(
        &mut self,
        resource: wasmtime::component::Resource<T>,
    ) -> wasmtime::Result<T> {
        self.table.delete(resource).map_err(|e| {
            wasmtime::format_err!(
                "the plugin handed over a stream it still uses ({e}), which breaks the \
                 contract of take-stream"
            )
        })
    }

    /// A state whose WASI context grants exactly `grant`, whose notices
    /// go to `notices`, whose HTTP requests go through `http` (its remote's
    /// connections) or, if `None`, a pool of its own.
    pub fn new(
        grant: &Grant,
        limits: &Limits,
        notices: crate::Notices,
        http_pool: Option<Arc<HttpPool>>,
    ) -> Result<Self> {
        let policy = Arc::new(NetworkPolicy::new(grant));
        let refusals = policy.refusals().clone();
        let stderr = StderrTail::new(STDERR_KEPT);
        let mut builder = WasiCtxBuilder::new();
        // File calls run on the calling thread instead of a blocking pool:
        // about four times the throughput for large reads and writes.
        builder.allow_blocking_current_thread(true);
        builder.stderr(stderr.clone());
        // TCP is the host's own (`tcp.rs`, which checks every address
        // against the policy); wasmtime's is off, so nothing reaches it.
        builder.allow_tcp(false);
        builder.allow_udp(false);
        // Name lookups are answered by the policy (`name_lookup.rs`), which
        // replaces wasmtime's resolver in the linker.
        for dir in &grant.directories {
            builder
                .preopened_dir(&dir.host_path, &dir.guest_path, FsPerms::ReadWrite)
                .map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidConfig,
                        format!(
                            "cannot open directory {} for option '{}': {e}",
                            dir.host_path.display(),
                            dir.option
                        ),
                    )
                })?;
        }
        let tls = grant.tls.client_config()?;
        let mut table = ResourceTable::new();
        table.set_max_capacity(Limits::MAX_HANDLES);
        let mut http = WasiHttpCtx::new();
        // Real request headers are a few KiB; a Dropbox argument header a
        // few more.
        http.set_field_size_limit(FIELD_SIZE_LIMIT);
        Ok(HostState {
            wasi: builder.build(),
            table,
            http,
            hooks: HttpHooks {
                policy: policy.clone(),
                client: Arc::new(HttpClient::new(
                    http_pool.unwrap_or_else(|| {
                        Arc::new(HttpPool::new(
                            tls.clone(),
                            policy.clone(),
                            limits.max_sockets,
                        ))
                    }),
                    policy.clone(),
                    limits.max_sockets,
                )),
            },
            tls: WasiTlsCtxBuilder::new()
                .provider(Box::new(crate::tls::Provider::new(tls)))
                .build(),
            limiter: MemoryLimiter { max: limits.memory },
            refusals,
            policy,
            stderr,
            max_sockets: limits.max_sockets,
            host_memory: limits.host_memory,
            below: grant.below.clone(),
            deflate_load: Arc::default(),
            notices,
            ticks_left: 0,
            handed_sockets: Default::default(),
        })
    }

    /// What the `wharf:storage/below` functions work on.
    pub fn below(&mut self) -> crate::overlay::BelowView<'_> {
        crate::overlay::BelowView {
            table: &mut self.table,
            below: self.below.as_ref(),
            notices: &self.notices,
        }
    }

    /// What the `wharf:storage/staging` functions work on.
    pub fn staging(&mut self) -> crate::staging::StagingView<'_> {
        crate::staging::StagingView {
            table: &mut self.table,
        }
    }

    /// What the `wharf:storage/kdf` functions work on.
    pub fn kdf(&mut self) -> crate::kdf::KdfView {
        crate::kdf::KdfView {
            host_memory: self.host_memory,
        }
    }

    /// What the `wharf:storage/secretbox` functions work on.
    pub fn secretbox(&mut self) -> crate::secretbox::SecretboxView {
        crate::secretbox::SecretboxView
    }

    /// What the `wharf:storage/deflate` functions work on.
    pub fn deflate(&mut self) -> crate::deflate::DeflateView<'_> {
        crate::deflate::DeflateView {
            table: &mut self.table,
            load: &self.deflate_load,
            host_memory: self.host_memory,
        }
    }

    /// What the host's `wasi:sockets/tcp` works on (see `tcp.rs`).
    pub fn tcp(&mut self) -> crate::tcp::TcpView<'_> {
        crate::tcp::TcpView {
            table: &mut self.table,
            policy: &self.policy,
            handed: &mut self.handed_sockets,
            max: self.max_sockets,
            log: &self.refusals,
        }
    }

    /// The connection under the stream at `rep` that the plugin handed
    /// over, if it is one of its TCP connections (see `tcp.rs`).
    pub(crate) fn handed_socket(&mut self, rep: u32) -> Option<crate::tcp::HandedSocket> {
        self.handed_sockets
            .connection(rep)
            .map(crate::tcp::HandedSocket::new)
    }

    /// The memory the host holds for this instance, when it is more than
    /// its bound: header fields by their content, each request body by the
    /// buffer it may fill, blocks being compressed by what they hold,
    /// every other handle by a small fixed cost.
    pub fn host_memory_over(&mut self) -> Option<HostMemoryHit> {
        use wasmtime_wasi_http::p2::body::HostOutgoingBody;
        use wasmtime_wasi_http::p2::types::HostOutgoingRequest;
        use wasmtime_wasi_http::FieldMap;
        let header_bytes = |fields: &http::HeaderMap| -> usize {
            fields
                .iter()
                .map(|(name, value)| name.as_str().len() + value.len() + HEADER_OVERHEAD)
                .sum()
        };
        let held: usize = self
            .table
            .iter_mut()
            .map(|entry| {
                let entry: &dyn std::any::Any = entry;
                if let Some(fields) = entry.downcast_ref::<FieldMap>() {
                    header_bytes(fields)
                } else if let Some(request) = entry.downcast_ref::<HostOutgoingRequest>() {
                    header_bytes(&request.headers)
                } else if entry.is::<HostOutgoingBody>() {
                    OUTGOING_BODY_BUFFER
                } else {
                    HANDLE_COST
                }
            })
            .sum::<usize>()
            + self.deflate_load.bytes();
        (held > self.host_memory).then_some(HostMemoryHit { held })
    }

    /// What the replaced `wasi:sockets/ip-name-lookup` functions work on.
    pub fn name_lookup(&mut self) -> crate::name_lookup::NameLookup<'_> {
        crate::name_lookup::NameLookup {
            table: &mut self.table,
            policy: &self.policy,
        }
    }

    /// What the sandbox refused the plugin, or bounds it reached, since
    /// the last call.
    pub fn take_blame(&self) -> Vec<crate::policy::Blame> {
        self.refusals.take()
    }

    /// The last lines the plugin wrote to standard error (a panic message,
    /// typically), if any.
    pub fn stderr_tail(&self) -> Option<String> {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        // Rust's panic hook advises RUST_BACKTRACE, which a plugin, having
        // no environment, cannot follow: the host's WHARF_PLUGIN_BACKTRACE
        // is what shows where it crashed.
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
        (!tail.is_empty()).then(|| crate::error::bounded_tail(&crate::printable(&tail)))
    }
}
