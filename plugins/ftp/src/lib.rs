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
    Access, ByteRange, Capabilities, Error, NetworkAccess, NetworkProtocol, ObjectMeta, Options,
    Plugin, PluginInfo, Result, Store, WriteOptions,
};

use crate::config::check_key;
pub use crate::config::{FtpConfig, TlsMode};
use crate::control::Control;
use crate::core::{path, prune, prune_dir, stat};
use crate::error::{FtpError, FtpResult};
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

impl FtpStore {
    /// Sends DELE for `key`: `true` when it deleted the object, `false`
    /// when there was none (missing, or a directory, which is no object
    /// either: deleting succeeds, as the contract says).
    fn dele(&self, control: &mut Control, key: &str) -> FtpResult<bool> {
        let what = format!("delete {key:?}");
        let path = path(&self.pool.config, control, key);
        let reply = control.command(&what, &format!("DELE {path}"))?;
        match reply.code {
            250 | 200 => Ok(true),
            450 | 550 => Ok(false),
            _ => Err(FtpError::Refused {
                what,
                command: "DELE".into(),
                reply,
            }),
        }
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
        Ok(self.pool.run(|control| {
            if self.dele(control, key)? {
                prune(&self.pool, control, key)?;
            }
            Ok(())
        })?)
    }

    /// Each key's DELE, then each directory that held a deleted key
    /// removed once if it is now empty, the deepest first: pruning after
    /// every key sent one RMD per key, refused by the directory the other
    /// keys still filled (`wharf rm -R` of 2,000 files in one directory
    /// sent 2,000 DELE and 2,000 RMD). Directories are pruned after the
    /// batch's last DELE, so the batch that finishes last finds them empty,
    /// as a lone delete did.
    fn delete_many(&self, keys: &[&str]) -> Vec<Result<()>> {
        let mut results: Vec<Result<()>> = Vec::with_capacity(keys.len());
        let mut emptied = std::collections::BTreeSet::new();
        for key in keys {
            let deleted =
                check_key(key).and_then(|()| self.pool.run(|control| self.dele(control, key)));
            if let (Ok(true), Some((dir, _))) = (&deleted, key.rsplit_once('/')) {
                emptied.insert(dir);
            }
            results.push(deleted.map(drop).map_err(Error::from));
        }
        let mut dirs: Vec<&str> = emptied.into_iter().collect();
        dirs.sort_by_key(|dir| std::cmp::Reverse(dir.matches('/').count()));
        for dir in dirs {
            let what = format!("delete the keys under {dir:?}");
            let pruned = self
                .pool
                .run(|control| prune_dir(&self.pool, control, dir, &what));
            if let Err(e) = pruned {
                // The keys were deleted, but their directory may be left
                // behind, showing as a prefix: the batch's keys in it fail.
                let failure = Error::from(e);
                for (key, result) in keys.iter().zip(results.iter_mut()) {
                    if result.is_ok() && key.rsplit_once('/').is_some_and(|(d, _)| d == dir) {
                        *result = Err(failure.clone());
                    }
                }
            }
        }
        results
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
