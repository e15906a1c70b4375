//! Wharf's FTP backend: FTP (RFC 959, with the RFC 2389/3659 extensions)
//! over `wasi:sockets`, FTPS with the host doing TLS through `wasi:tls`.
//! See `docs.md` for the options and the behaviour.

mod config;
mod control;
mod core;
mod error;
mod lister;
mod listing;
mod pool;
mod reader;
mod writer;

use std::rc::Rc;

use wharf_plugin::{
    Access, ByteRange, Capabilities, NetworkAccess, NetworkProtocol, ObjectMeta, Options, Plugin,
    PluginInfo, Result, Store, WriteOptions,
};

use crate::config::check_key;
pub use crate::config::{FtpConfig, TlsMode};
use crate::core::{path, prune, stat};
use crate::error::FtpError;
pub use crate::lister::FtpLister;
use crate::pool::Pool;
pub use crate::reader::FtpReader;
pub use crate::writer::FtpWriter;

/// Uploads go to a file with this prefix next to the key's file and are
/// renamed over it when finished; listings never show such files, and no
/// key may use the prefix.
pub const TEMP_PREFIX: &str = ".wharf-tmp-";

/// The plugin: describes itself and opens [`FtpStore`]s.
pub struct FtpPlugin;

/// One directory on one FTP server.
pub struct FtpStore {
    pool: Rc<Pool>,
}

impl Plugin for FtpPlugin {
    type Store = FtpStore;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "ftp".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "FTP and FTPS servers (explicit and implicit TLS)".into(),
            options: FtpConfig::options(),
            capabilities: Capabilities {
                ranged_read: true,
                list_delimiter: true,
                copy: false,
                content_type: false,
                user_metadata: false,
                last_modified: true,
                etag: false,
                case_insensitive: false,
                key_and_prefix: false,
            },
            access: vec![Access::Network(NetworkAccess {
                protocol: NetworkProtocol::Tcp,
                // The control port and the passive data ports the server
                // opens: the server's host only, any port.
                endpoints: vec!["{host}:*".into()],
                reason: "the FTP server: its control connection and the data connections it offers"
                    .into(),
            })],
        }
    }

    fn open(options: Options) -> Result<FtpStore> {
        Ok(FtpStore {
            pool: Pool::new(FtpConfig::from_options(&options)?),
        })
    }
}

impl Store for FtpStore {
    type Reader = FtpReader;
    type Writer = FtpWriter;
    type Lister = FtpLister;

    fn stat(&self, key: &str) -> Result<ObjectMeta> {
        check_key(key)?;
        let config = &self.pool.config;
        Ok(self.pool.run(|control| stat(config, control, key))?)
    }

    fn read(&self, key: &str, range: Option<ByteRange>) -> Result<FtpReader> {
        check_key(key)?;
        Ok(FtpReader::open(&self.pool, key, range)?)
    }

    fn write(&self, key: &str, options: WriteOptions) -> Result<FtpWriter> {
        check_key(key)?;
        let _ = options;
        Ok(FtpWriter::open(&self.pool, key)?)
    }

    fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        let config = &self.pool.config;
        Ok(self.pool.run(|control| {
            let what = format!("delete {key:?}");
            let path = path(config, control, key);
            let reply = control.command(&what, &format!("DELE {path}"))?;
            match reply.code {
                250 | 200 => prune(&self.pool, control, key),
                // Missing (or a directory, which is no object either):
                // deleting succeeds, as the contract says.
                450 | 550 => Ok(()),
                _ => Err(FtpError::Refused {
                    what,
                    command: "DELE".into(),
                    reply,
                }),
            }
        })?)
    }

    fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<FtpLister> {
        check_key(prefix)?;
        Ok(lister::lister(
            self.pool.clone(),
            prefix,
            delimiter.is_some(),
        ))
    }
}

wharf_plugin::export_plugin!(FtpPlugin);
