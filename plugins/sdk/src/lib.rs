//! Write a Wharf storage plugin in Rust.
//!
//! A plugin is a WebAssembly component that exports `wharf:storage/storage`
//! (the contract: `contract/` here, the Wharf repository's `wit/`). This
//! crate hides the generated bindings: implement [`Plugin`] and [`Store`] (with its
//! [`Reader`], [`Writer`] and [`Lister`]), then call [`export_plugin!`].
//! The crate checks every key and prefix against the contract's rules,
//! applies option defaults and rejects unknown or missing options before
//! your code runs, and aborts writers that are dropped unfinished.
//!
//! ```text
//! struct MyPlugin;
//! impl wharf_plugin::Plugin for MyPlugin {
//!     type Store = MyStore;
//!     fn info() -> wharf_plugin::PluginInfo { /* name, options, access */ }
//!     fn open(options: wharf_plugin::Options) -> wharf_plugin::Result<MyStore> { /* … */ }
//! }
//! wharf_plugin::export_plugin!(MyPlugin);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm`
//! in `target/wasm32-wasip2/release/` is already a component.
#![deny(missing_docs)]

mod adapter;
mod backend;
pub mod below;
mod chunk;
pub mod deflate;
mod error;
pub mod hash;
pub mod http;
pub mod kdf;
pub mod net;
mod options;
pub mod secretbox;
pub mod time;
pub mod tree;

#[doc(hidden)]
pub mod bindings {
    //! The raw bindings generated from the contract (`contract/`, the
    //! repository's `wit/`). Plugins should not need them.
    // `contract` links to the repository's `wit/`, so a packaged SDK
    // carries the contract it was built for.
    wit_bindgen::generate!({
        path: "contract",
        // The overlay world is the plugin world plus the store below: a
        // plugin that never calls `below` does not import it (nor
        // `staging`, which only the fs plugin calls). Every plugin
        // also exports `authorization`, which says "none" unless the plugin
        // declares an OAuth flow ([`crate::Plugin::oauth_flow`]).
        inline: "package wharf:sdk-world;
                 world sdk {
                     include wharf:storage/overlay@0.3.0;
                     import wharf:storage/staging@0.3.0;
                     export wharf:storage/authorization@0.3.0;
                 }",
        world: "wharf:sdk-world/sdk",
        // The contract is the inline world's dependency: bind all of it,
        // but for the WASI streams a reader or writer hands over
        // (`take-stream`), which are `wasip2`'s own.
        generate_all,
        with: {
            "wasi:io/streams@0.2.12": wasip2::io::streams,
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:filesystem/types@0.2.12": wasip2::filesystem::types,
        },
        pub_export_macro: true,
        default_bindings_module: "wharf_plugin::bindings",
    });
}

#[doc(hidden)]
pub mod tls_bindings {
    //! `wasi:tls` (draft), which the `wasip2` crate does not bind; its
    //! streams are `wasip2`'s own.
    wit_bindgen::generate!({
        path: "wit",
        world: "wharf:plugin-sdk/sdk-imports",
        features: ["tls"],
        with: {
            "wasi:io/streams@0.2.12": wasip2::io::streams,
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:tls/types@0.2.0-draft": generate,
        },
    });
}

/// Unnamed files for a plugin that writes into a directory it was granted
/// (`wharf:storage/staging`): a write nothing lists until it is complete,
/// named in one step.
pub mod staging {
    pub use crate::bindings::wharf::storage::staging::{create_unnamed, publish_unnamed};
}

pub use adapter::PluginAdapter;
pub use backend::{Lister, Plugin, Reader, Store, Writer};
pub use chunk::read_chunk;
pub use error::{Error, Result};
pub use options::{option, Options};
pub use wharf_key as key;

pub use bindings::exports::wharf::storage::storage::HandedStream;
pub use bindings::wharf::storage::types::{
    Access, AliasMeaning, AliasTranslation, ByteRange, Capabilities, Entry, EtagKind, HttpMethod,
    NetworkAccess, NetworkProtocol, OauthFlow, ObjectMeta, OptionAlias, OptionSpec, PluginInfo,
    PresignedUrl, RateLimit, Span, StoreDescription, Timestamp, UrlSupport, WriteOptions,
};

/// Exports `$plugin`, a type that implements [`Plugin`], as the component's
/// `wharf:storage/storage` interface. Call it once, in the plugin's `lib.rs`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        // Only a WebAssembly build exports the interface: the export names
        // (`wharf:storage/storage@…#…`) are not symbols a native linker
        // takes, and a native build of a plugin crate (`cargo build
        // --workspace`, its unit tests) has no host to call them.
        #[cfg(target_family = "wasm")]
        type __WharfPluginExport = $crate::PluginAdapter<$plugin>;
        #[cfg(target_family = "wasm")]
        $crate::bindings::export!(__WharfPluginExport with_types_in $crate::bindings);
    };
}
