//! Listings. `list_folder` returns a folder's entries in no particular
//! order, and its recursive form a whole tree in no order either, while
//! the contract promises keys in byte order. So the lister walks the tree
//! one folder at a time, depth first, each folder's entries sorted: memory
//! holds the folders on the current path, never the whole tree. With the
//! delimiter, only the prefix's own folder is listed.
//!
//! Dropbox keeps folders that have become empty; a folder is reported as
//! a common prefix only if an object lies below it.

use std::collections::VecDeque;
use std::rc::Rc;

use serde_json::json;
use wharf_plugin::{Entry, Lister, Result};

use crate::core::DropboxCore;
use crate::error::DropboxResult;
use crate::meta::{object_meta, ListPage, Metadata};

/// Entries per `list_folder` page: Dropbox's maximum.
const PAGE: u32 = 2000;

enum Item {
    Object(wharf_plugin::ObjectMeta),
    /// A folder, by its key without the trailing slash.
    Folder(String),
}

pub struct DropboxLister {
    core: Rc<DropboxCore>,
    prefix: String,
    delimiter: bool,
    started: bool,
    /// The unvisited items of each folder on the current path.
    stack: Vec<VecDeque<Item>>,
}

impl DropboxLister {
    pub fn new(core: Rc<DropboxCore>, prefix: &str, delimiter: bool) -> Self {
        DropboxLister {
            core,
            prefix: prefix.to_owned(),
            delimiter,
            started: false,
            stack: Vec::new(),
        }
    }

    fn what(&self) -> String {
        format!("list {:?}", self.prefix)
    }

    /// The items of folder `dir` whose names start with `start`, in the
    /// byte order of their keys (a folder sorts as its key plus `/`, which
    /// is where its contents fall).
    fn items(&self, dir: &str, start: &str) -> DropboxResult<VecDeque<Item>> {
        let mut keyed = Vec::new();
        self.each_page(dir, false, |entries| {
            for entry in entries {
                let (name, item) = match entry {
                    Metadata::File(file) if file.name.starts_with(start) => {
                        let key = join(dir, &file.name);
                        (file.name.clone(), Item::Object(object_meta(&key, &file)))
                    }
                    Metadata::Folder(folder) if folder.name.starts_with(start) => (
                        format!("{}/", folder.name),
                        Item::Folder(join(dir, &folder.name)),
                    ),
                    _ => continue,
                };
                keyed.push((name, item));
            }
            true
        })?;
        keyed.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(keyed.into_iter().map(|(_, item)| item).collect())
    }

    /// Whether any file lies below folder `dir`.
    fn has_object(&self, dir: &str) -> DropboxResult<bool> {
        let mut found = false;
        self.each_page(dir, true, |entries| {
            found = entries.iter().any(|e| matches!(e, Metadata::File(_)));
            !found
        })?;
        Ok(found)
    }

    /// Calls `each` with every page of folder `dir` (recursively or not)
    /// until it returns false. A missing folder has no pages.
    fn each_page(
        &self,
        dir: &str,
        recursive: bool,
        mut each: impl FnMut(Vec<Metadata>) -> bool,
    ) -> DropboxResult<()> {
        let what = self.what();
        let arg = json!({
            "path": self.core.config.folder(dir),
            "recursive": recursive,
            "limit": PAGE,
            "include_deleted": false,
        });
        let mut page: ListPage = match self.core.rpc(&what, "files/list_folder", &arg) {
            Ok(page) => page,
            // No such folder, or a file where the folder would be.
            Err(e) if e.is_not_found() || e.tags().contains(&"not_folder") => return Ok(()),
            Err(e) => return Err(e),
        };
        loop {
            let more = page.has_more;
            let cursor = std::mem::take(&mut page.cursor);
            if !each(page.entries) || !more {
                return Ok(());
            }
            page = self.core.rpc(
                &what,
                "files/list_folder/continue",
                &json!({ "cursor": cursor }),
            )?;
        }
    }

    fn start(&mut self) -> DropboxResult<()> {
        let (dir, start) = match self.prefix.rsplit_once('/') {
            Some((dir, start)) => (dir.to_owned(), start.to_owned()),
            None => (String::new(), self.prefix.clone()),
        };
        let items = self.items(&dir, &start)?;
        self.stack.push(items);
        Ok(())
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

impl Lister for DropboxLister {
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
                Item::Folder(dir) if self.delimiter => {
                    if self.has_object(&dir)? {
                        out.push(Entry::CommonPrefix(format!("{dir}/")));
                    }
                }
                Item::Folder(dir) => {
                    let items = self.items(&dir, "")?;
                    self.stack.push(items);
                }
            }
        }
        Ok(out)
    }
}
