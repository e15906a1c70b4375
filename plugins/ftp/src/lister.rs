//! Listings: MLSD where the server has it, else LIST; a depth-first walk
//! of the directories below the prefix, in byte order of the keys, a
//! directory at a time.

use std::collections::VecDeque;
use std::rc::Rc;

use wharf_plugin::{Entry, Lister, ObjectMeta, Result};

use crate::control::Control;
use crate::error::{FtpError, FtpResult};
use crate::listing::{parse_list, parse_mlsx, Kind, ListEntry};
use crate::pool::Pool;
use crate::{path, timestamp, TEMP_PREFIX};

/// What a listed directory holds, in key order: objects, and directories
/// still to open.
enum Item {
    Object(ObjectMeta),
    Dir(String),
}

pub struct FtpLister {
    pool: Rc<Pool>,
    prefix: String,
    delimiter: bool,
    /// One queue per directory being walked, the deepest last.
    stack: Vec<VecDeque<Item>>,
    started: bool,
}

impl FtpLister {
    pub fn new(pool: Rc<Pool>, prefix: &str, delimiter: bool) -> Self {
        FtpLister {
            pool,
            prefix: prefix.to_owned(),
            delimiter,
            stack: Vec::new(),
            started: false,
        }
    }

    fn what(&self) -> String {
        format!("list {:?}", self.prefix)
    }

    /// The first directory: the one the prefix ends in, its entries
    /// filtered by the rest of the prefix.
    fn start(&mut self) -> FtpResult<()> {
        let (dir, name_prefix) = match self.prefix.rsplit_once('/') {
            Some((dir, rest)) => (dir.to_owned(), rest.to_owned()),
            None => (String::new(), self.prefix.clone()),
        };
        let items = self.items(&dir, &name_prefix)?;
        self.stack.push(items);
        Ok(())
    }

    /// The entries of directory `dir` (a key, "" for the root) whose names
    /// start with `name_prefix`, in key order.
    fn items(&self, dir: &str, name_prefix: &str) -> FtpResult<VecDeque<Item>> {
        let what = self.what();
        let config = &self.pool.config;
        let entries = self
            .pool
            .run(|control| list_dir(control, &what, &path(config, control, dir)))?;
        let key_of = |name: &str| {
            if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            }
        };
        let mut items: Vec<(String, Item)> = entries
            .into_iter()
            .filter(|e| e.name.starts_with(name_prefix) && !e.name.starts_with(TEMP_PREFIX))
            .filter(|e| e.name != "." && e.name != ".." && !e.name.contains('/'))
            .filter_map(|e| match e.kind {
                Kind::File => {
                    let key = key_of(&e.name);
                    Some((
                        key.clone(),
                        Item::Object(ObjectMeta {
                            key,
                            size: e.size.unwrap_or(0),
                            last_modified: timestamp(e.modified),
                            etag: None,
                            content_type: None,
                            metadata: Vec::new(),
                        }),
                    ))
                }
                // A directory sorts as its keys do: after its name and "/".
                Kind::Dir => {
                    let key = key_of(&e.name);
                    Some((format!("{key}/"), Item::Dir(key)))
                }
                Kind::Other => None,
            })
            .collect();
        items.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(items.into_iter().map(|(_, item)| item).collect())
    }

    /// Whether any object lies below directory `dir`: a common prefix is
    /// reported only then.
    fn has_object(&self, dir: &str) -> FtpResult<bool> {
        let mut pending = vec![dir.to_owned()];
        while let Some(dir) = pending.pop() {
            for item in self.items(&dir, "")? {
                match item {
                    Item::Object(_) => return Ok(true),
                    Item::Dir(below) => pending.push(below),
                }
            }
        }
        Ok(false)
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

impl Lister for FtpLister {
    fn next(&mut self, max_entries: usize) -> Result<Vec<Entry>> {
        if !self.started {
            self.started = true;
            self.start()?;
        }
        let mut out = Vec::new();
        while out.len() < max_entries {
            let Some(queue) = self.stack.last_mut() else {
                break;
            };
            let Some(item) = queue.pop_front() else {
                self.stack.pop();
                continue;
            };
            match item {
                Item::Object(meta) => out.push(Entry::Object(meta)),
                Item::Dir(dir) if self.delimiter => {
                    if self.has_object(&dir)? {
                        out.push(Entry::CommonPrefix(format!("{dir}/")));
                    }
                }
                Item::Dir(dir) => {
                    let items = self.items(&dir, "")?;
                    self.stack.push(items);
                }
            }
        }
        Ok(out)
    }
}
