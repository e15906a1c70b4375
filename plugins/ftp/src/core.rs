//! The calls on a logged-in connection that the store, its reader, writer
//! and lister share: where a key is on the server, what is there, and
//! tidying the directories a delete leaves empty.

use wharf_plugin::{ObjectMeta, Timestamp};

use crate::control::Control;
use crate::error::{FtpError, FtpResult};
use crate::listing::{parse_mlsx, parse_time, Kind};
use crate::pool::Pool;
use crate::FtpConfig;

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
    match key.rsplit_once('/') {
        Some((dir, _)) => prune_dir(pool, control, dir, &format!("delete {key:?}")),
        None => Ok(()),
    }
}

/// Removes directory `dir` and then its parents while they are empty, as
/// [`prune`]; `what` names the operation in messages.
pub(crate) fn prune_dir(
    pool: &Pool,
    control: &mut Control,
    mut dir: &str,
    what: &str,
) -> FtpResult<()> {
    loop {
        let reply = control.command(what, &format!("RMD {}", path(&pool.config, control, dir)))?;
        if !reply.is_success() {
            return Ok(());
        }
        pool.known_dirs.borrow_mut().remove(dir);
        match dir.rsplit_once('/') {
            Some((up, _)) => dir = up,
            None => return Ok(()),
        }
    }
}
