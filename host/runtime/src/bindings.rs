//! The one `bindgen!` call: host-side types for `wit/`.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "wharf:storage/plugin",
    exports: { default: async },
});

pub use self::wharf::storage::types;
