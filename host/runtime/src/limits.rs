//! The bounds the host puts on each plugin instance, and the limiter that
//! enforces the memory bound.

use std::time::Duration;

/// Bounds for one remote's plugin instance. Going past one stops the call
/// with [`crate::ErrorKind::LimitExceeded`]; the next call gets a fresh
/// instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The most linear memory the instance may use, in bytes.
    pub memory: usize,
    /// The longest one call into the plugin may run.
    pub call_timeout: Duration,
    /// The most instances the remote runs at once, each with `memory`: as
    /// many as it has calls in flight, up to this. A plugin granted no
    /// directory and no host keeps its objects in its instance's memory,
    /// so it always runs on one.
    pub max_instances: usize,
    /// The most TCP sockets one instance holds at once, and the most HTTP
    /// requests it has in flight (each a connection of its own; as many
    /// idle connections are kept for reuse). Every socket is a descriptor
    /// of the host process, which all remotes share.
    pub max_sockets: usize,
    /// The most memory the host holds for one instance outside its linear
    /// memory: header fields, request bodies waiting for the network, the
    /// handles of its resources. Checked every epoch tick (10 ms) while the
    /// plugin runs.
    pub host_memory: usize,
}

impl Limits {
    /// 256 MiB of memory.
    pub const DEFAULT_MEMORY: usize = 256 << 20;
    /// 60 seconds per call.
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
    /// 64 instances: a transfer takes one per object in flight and one
    /// for its listing, so `--transfers` up to 63 never waits for one.
    pub const DEFAULT_MAX_INSTANCES: usize = 64;
    /// 16 sockets: an FTP session needs two, an S3 or Dropbox call one.
    pub const DEFAULT_MAX_SOCKETS: usize = 16;
    /// 64 MiB of host memory per instance.
    pub const DEFAULT_HOST_MEMORY: usize = 64 << 20;
    /// The most resource handles (streams, sockets, header fields, …) one
    /// instance holds at once; a real plugin holds a few dozen.
    pub const MAX_HANDLES: usize = 10_000;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: Self::DEFAULT_MEMORY,
            call_timeout: Self::DEFAULT_CALL_TIMEOUT,
            max_instances: Self::DEFAULT_MAX_INSTANCES,
            max_sockets: Self::DEFAULT_MAX_SOCKETS,
            host_memory: Self::DEFAULT_HOST_MEMORY,
        }
    }
}

/// Refuses memory growth past the limit by trapping, and leaves a
/// [`MemoryLimitHit`] in the error so the host can say which bound it was.
pub(crate) struct MemoryLimiter {
    pub max: usize,
}

/// The error a [`MemoryLimiter`] traps with.
#[derive(Debug)]
pub(crate) struct MemoryLimitHit {
    pub desired: usize,
}

impl std::fmt::Display for MemoryLimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the plugin asked for {} bytes of memory", self.desired)
    }
}

impl std::error::Error for MemoryLimitHit {}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            return Err(wasmtime::Error::new(MemoryLimitHit { desired }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far past any real
        // plugin and still small.
        Ok(desired <= 1_000_000)
    }
}

/// The error an instance traps with when the host holds more memory for it
/// than [`Limits::host_memory`].
#[derive(Debug)]
pub(crate) struct HostMemoryHit {
    pub held: usize,
}

impl std::fmt::Display for HostMemoryHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the host held {} MiB for the plugin (header fields, request bodies, handles)",
            self.held >> 20
        )
    }
}

impl std::error::Error for HostMemoryHit {}
