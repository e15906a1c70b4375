//! The Wharf host runtime: loads storage plugins as sandboxed WebAssembly
//! components and streams objects through them.
//!
//! ```no_run
//! # async fn demo() -> wharf::Result<()> {
//! let runtime = wharf::Runtime::new()?;
//! let fs = runtime.load_bundled("fs").await?;
//! let media = wharf::Remote::new(
//!     "media",
//!     fs,
//!     vec![("root".into(), "./media".into())],
//!     wharf::Limits::default(),
//! )?;
//! let file = tokio::fs::File::open("photo.jpg").await.unwrap();
//! media.put("2026/photo.jpg", file, wharf::WriteOptions::default()).await?;
//! media.get("2026/photo.jpg", None, tokio::io::stdout()).await?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod bindings;
mod cache;
mod catalog;
pub mod config;
mod error;
pub mod grant;
mod limits;
mod plugin;
mod remote;
mod runtime;
mod sandbox;

pub use bindings::types::{
    Access, ByteRange, Capabilities, Entry, NetworkAccess, NetworkProtocol, ObjectMeta, OptionSpec,
    PluginInfo, Span, Timestamp, WriteOptions,
};
pub use catalog::{Available, Catalog};
pub use error::{Context, Error, ErrorKind, Result};
pub use limits::Limits;
pub use plugin::{Plugin, PluginSource};
pub use remote::{ObjectLister, ObjectReader, ObjectWriter, Remote, CHUNK_SIZE, LIST_PAGE};
pub use runtime::{Runtime, RuntimeBuilder, CONTRACT_VERSION};

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            content_type: None,
            metadata: Vec::new(),
            size_hint: None,
        }
    }
}
