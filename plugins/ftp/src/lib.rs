//! Wharf's FTP backend: FTP (RFC 959, with the RFC 2389/3659 extensions)
//! over `wasi:sockets`, FTPS with the host doing TLS through `wasi:tls`.
//! See `docs.md` for the options and the behaviour.

mod config;
mod control;
mod error;
mod lister;
mod listing;
mod pool;
mod reader;
mod writer;

use std::rc::Rc;

use wharf_plugin::{
    Access, ByteRange, Capabilities, NetworkAccess, NetworkProtocol, ObjectMeta, Options, Plugin,
    PluginInfo, Result, Store, Timestamp, WriteOptions,
};

pub use crate::config::{FtpConfig, TlsMode};
use crate::control::Control;
use crate::error::{FtpError, FtpResult};
pub use crate::lister::FtpLister;
use crate::listing::{parse_mlsx, parse_time, Kind};
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

/// The server path of `key` (or of a prefix) for a logged-in connection:
/// `root` if absolute, else `root` below the login directory.
pub(crate) fn path(config: &FtpConfig, control: &Control, key: &str) -> String {
    let base = if config.root.starts_with('/') {
        config.root.clone()
    } else if config.root.is_empty() {
        control.home.trim_end_matches('/').to_owned()
    } else {
        format!("{}/{}", control.home.trim_end_matches('/'), config.root)
    };
    if key.is_empty() {
        if base.is_empty() {
            "/".to_owned()
        } else {
            base
        }
    } else {
        format!("{base}/{key}")
    }
}

/// What an FTP server cannot store, beyond the contract's key rules.
pub(crate) fn check_key(key: &str) -> FtpResult<()> {
    if key.contains(['\r', '\n']) {
        return Err(FtpError::InvalidKey {
            key: key.to_owned(),
            why: "FTP commands are lines of text, so a key cannot hold a line break".into(),
        });
    }
    if key
        .split('/')
        .any(|segment| segment.starts_with(TEMP_PREFIX))
    {
        return Err(FtpError::InvalidKey {
            key: key.to_owned(),
            why: format!("names starting with {TEMP_PREFIX} are where uploads in progress go"),
        });
    }
    Ok(())
}

pub(crate) fn timestamp(seconds: Option<u64>) -> Option<Timestamp> {
    seconds.map(|s| Timestamp {
        seconds: s as i64,
        nanoseconds: 0,
    })
}

/// The object at `key`: MLST where the server has it, else SIZE and MDTM.
/// A directory is not an object.
pub(crate) fn stat(config: &FtpConfig, control: &mut Control, key: &str) -> FtpResult<ObjectMeta> {
    let what = format!("stat {key:?}");
    let path = path(config, control, key);
    let not_found = || FtpError::NotFound { what: what.clone() };
    let meta = |size, modified| ObjectMeta {
        key: key.to_owned(),
        size,
        last_modified: timestamp(modified),
        etag: None,
        content_type: None,
        metadata: Vec::new(),
    };
    if control.features.mlst {
        let reply = control.command(&what, &format!("MLST {path}"))?;
        return match reply.code {
            250 => {
                let entry = reply
                    .text
                    .lines()
                    .filter(|line| line.contains('='))
                    .find_map(parse_mlsx)
                    .ok_or_else(|| FtpError::Protocol {
                        what: what.clone(),
                        detail: format!("cannot read the MLST reply '{reply}'"),
                    })?;
                match (entry.kind, entry.size) {
                    (Kind::File, Some(size)) => Ok(meta(size, entry.modified)),
                    (Kind::File, None) => Err(FtpError::Protocol {
                        what: what.clone(),
                        detail: format!("the MLST reply gives no size: '{reply}'"),
                    }),
                    _ => Err(not_found()),
                }
            }
            450 | 550 => Err(not_found()),
            _ => Err(FtpError::Refused {
                what: what.clone(),
                command: "MLST".into(),
                reply,
            }),
        };
    }
    let reply = control.command(&what, &format!("SIZE {path}"))?;
    let size = match reply.code {
        213 => reply.text.trim().parse().map_err(|_| FtpError::Protocol {
            what: what.clone(),
            detail: format!("cannot read the size in '{reply}'"),
        })?,
        450 | 550 => return Err(not_found()),
        _ => {
            return Err(FtpError::Refused {
                what: what.clone(),
                command: "SIZE".into(),
                reply,
            })
        }
    };
    let modified = match control.command(&what, &format!("MDTM {path}"))? {
        reply if reply.code == 213 => parse_time(reply.text.trim()),
        _ => None,
    };
    Ok(meta(size, modified))
}

/// Whether `path` is a directory: MLST says so, or else CWD into it works
/// (which leaves the working directory changed; nothing relies on it,
/// every path is absolute). MLST first because pure-ftpd delays each
/// failed CWD a little longer than the last, to slow down guessing.
pub(crate) fn is_dir(control: &mut Control, what: &str, path: &str) -> FtpResult<bool> {
    if control.features.mlst {
        let reply = control.command(what, &format!("MLST {path}"))?;
        return Ok(reply.code == 250
            && reply
                .text
                .lines()
                .filter(|line| line.contains('='))
                .find_map(parse_mlsx)
                .is_some_and(|entry| entry.kind == Kind::Dir));
    }
    Ok(control.command(what, &format!("CWD {path}"))?.code == 250)
}

/// Removes the directories of `key` from the deepest up while they are
/// empty, stopping at the first that is not (RMD refuses it) and never
/// touching the root: directories exist only for the keys below them.
pub(crate) fn prune(pool: &Pool, control: &mut Control, key: &str) -> FtpResult<()> {
    let what = format!("delete {key:?}");
    let mut parent = key;
    while let Some((dir, _)) = parent.rsplit_once('/') {
        let reply = control.command(&what, &format!("RMD {}", path(&pool.config, control, dir)))?;
        if !reply.is_success() {
            break;
        }
        pool.known_dirs.borrow_mut().remove(dir);
        parent = dir;
    }
    Ok(())
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
