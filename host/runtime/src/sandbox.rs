//! What a plugin instance can reach: the WASI context built from its grant.
//! Nothing is inherited from the host process: no environment, no
//! arguments, no standard input, no network, and only the directories the
//! grant names.

use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::grant::Grant;
use crate::limits::MemoryLimiter;
use crate::{Error, ErrorKind, Result};

/// The data of one plugin instance's store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: MemoryLimiter,
    // Kept for the instance and table counts, which `MemoryLimiter` leaves
    // to wasmtime's defaults.
    _limits: StoreLimits,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl HostState {
    /// A state whose WASI context grants exactly `grant`.
    pub fn new(grant: &Grant, memory: usize) -> Result<Self> {
        let mut builder = WasiCtxBuilder::new();
        // File calls run on the calling thread instead of a blocking pool:
        // about four times the throughput for large reads and writes.
        builder.allow_blocking_current_thread(true);
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
        Ok(HostState {
            wasi: builder.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter { max: memory },
            _limits: StoreLimits::default(),
        })
    }
}
