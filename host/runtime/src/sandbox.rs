//! What a plugin instance can reach: the WASI context built from its grant.
//! Nothing is inherited from the host process: no environment, no
//! arguments, no standard input, only the directories the grant names, and
//! only the network endpoints it names (checked on every connection and
//! every HTTP request, see `policy.rs`).

use std::future::Future;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};
use wasmtime_wasi_tls::{WasiTlsCtx, WasiTlsCtxBuilder, WasiTlsCtxView, WasiTlsView};

use crate::grant::Grant;
use crate::http_client::HttpClient;
use crate::limits::MemoryLimiter;
use crate::policy::{NetworkPolicy, RefusalLog};
use crate::{Error, ErrorKind, Result};

/// How much of a plugin's standard error is kept, to quote when it crashes.
const STDERR_KEPT: usize = 64 * 1024;

/// The data of one plugin instance's store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: HttpHooks,
    tls: WasiTlsCtx,
    pub limiter: MemoryLimiter,
    refusals: RefusalLog,
    stderr: MemoryOutputPipe,
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
    // in flight; two of 256 KiB upload as fast (1 GiB to SeaweedFS, 1.4 s
    // of noise either way) and took 6 MiB off the peak RSS.
    fn p2_outgoing_body_buffer_chunks(&mut self) -> usize {
        2
    }

    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        256 * 1024
    }
}

impl HostState {
    /// A state whose WASI context grants exactly `grant`.
    pub fn new(grant: &Grant, memory: usize) -> Result<Self> {
        let policy = Arc::new(NetworkPolicy::new(grant));
        let refusals = policy.refusals().clone();
        let stderr = MemoryOutputPipe::new(STDERR_KEPT);
        let mut builder = WasiCtxBuilder::new();
        // File calls run on the calling thread instead of a blocking pool:
        // about four times the throughput for large reads and writes.
        builder.allow_blocking_current_thread(true);
        builder.stderr(stderr.clone());
        // TCP is on so that every connection reaches the address check,
        // which refuses all but the grant and records what it refused.
        builder.allow_tcp(true);
        builder.allow_udp(false);
        builder.allow_ip_name_lookup(policy.needs_name_lookup());
        let check = policy.clone();
        builder.socket_addr_check(move |address, usage| {
            let allowed = check.check_socket(address, usage);
            Box::pin(async move { allowed })
        });
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
        Ok(HostState {
            wasi: builder.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: HttpHooks {
                policy,
                client: Arc::new(HttpClient::new(tls.clone())),
            },
            tls: WasiTlsCtxBuilder::new()
                .provider(Box::new(crate::tls::Provider::new(tls)))
                .build(),
            limiter: MemoryLimiter { max: memory },
            refusals,
            stderr,
        })
    }

    /// What the plugin tried to reach and was refused since the last call.
    pub fn take_refusals(&self) -> Vec<crate::policy::Refusal> {
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
        (!tail.is_empty()).then(|| crate::printable(&tail).into_owned())
    }
}
