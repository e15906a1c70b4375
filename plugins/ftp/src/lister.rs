//! Listings: MLSD where the server has it, else LIST, one directory at a
//! time, walked depth first in byte order of the keys by the SDK's
//! `wharf_plugin::tree`.

use std::rc::Rc;

use wharf_plugin::tree::{Tree, TreeItem, TreeLister};
use wharf_plugin::{ObjectMeta, Result};

use crate::control::Control;
use crate::core::{path, timestamp};
use crate::error::{FtpError, FtpResult};
use crate::listing::{parse_list, parse_mlsx, Kind, ListEntry};
use crate::pool::Pool;
use crate::TEMP_PREFIX;

/// What `Store::list` returns.
pub type FtpLister = TreeLister<FtpTree>;

/// The directories of an FTP server, for the walk.
pub struct FtpTree {
    pool: Rc<Pool>,
    /// The listing, for messages.
    what: String,
}

/// Lists `prefix` of the server behind `pool`.
pub fn lister(pool: Rc<Pool>, prefix: &str, delimiter: bool) -> FtpLister {
    let tree = FtpTree {
        pool,
        what: format!("list {prefix:?}"),
    };
    TreeLister::new(tree, prefix, delimiter)
}

impl Tree for FtpTree {
    fn items(&self, dir: &str, name_prefix: &str) -> Result<Vec<TreeItem>> {
        let what = &self.what;
        let config = &self.pool.config;
        let entries = self
            .pool
            .run(|control| list_dir(control, what, &path(config, control, dir)))?;
        let key_of = |name: &str| {
            if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            }
        };
        Ok(entries
            .into_iter()
            .filter(|e| e.name.starts_with(name_prefix) && !e.name.starts_with(TEMP_PREFIX))
            .filter(|e| e.name != "." && e.name != ".." && !e.name.contains('/'))
            .filter_map(|e| match e.kind {
                Kind::File => Some(TreeItem::Object(ObjectMeta {
                    key: key_of(&e.name),
                    size: e.size.unwrap_or(0),
                    last_modified: timestamp(e.modified),
                    etag: None,
                    content_type: None,
                    metadata: Vec::new(),
                })),
                Kind::Dir => Some(TreeItem::Folder(key_of(&e.name))),
                Kind::Other => None,
            })
            .collect())
    }
}

/// One directory's entries, or none if it does not exist.
fn list_dir(control: &mut Control, what: &str, dir: &str) -> FtpResult<Vec<ListEntry>> {
    let timeout = std::time::Duration::from_secs(60);
    let (line, parse): (String, fn(&str) -> Option<ListEntry>) = if control.features.mlsd {
        (format!("MLSD {dir}"), parse_mlsx)
    } else {
        // LIST takes options and wildcards in its argument on many
        // servers, so the directory is entered first and listed bare.
        let reply = control.command(what, &format!("CWD {dir}"))?;
        if reply.code != 250 {
            return Ok(Vec::new());
        }
        ("LIST -a".to_owned(), parse_list)
    };
    let mut data = match control.start_transfer(what, &line, timeout) {
        Ok(data) => data,
        // No such directory (pyftpdlib says 501 to MLSD of one).
        Err(FtpError::Refused { reply, .. }) if matches!(reply.code, 450 | 501 | 550) => {
            return Ok(Vec::new())
        }
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    loop {
        let chunk = data.read(64 * 1024).map_err(|e| FtpError::net(what, e))?;
        if chunk.is_empty() {
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    drop(data);
    control.end_transfer(what, &line)?;
    Ok(String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(parse)
        .collect())
}
