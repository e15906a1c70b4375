//! Listings, as the SDK's depth-first walk of folders (`wharf_plugin::tree`):
//! `list_folder` returns a folder's entries in no particular order, and
//! its recursive form a whole tree in no order either, while the contract
//! promises keys in byte order; the walk sorts one folder at a time.
//! Dropbox keeps folders that have become empty, so a folder is a common
//! prefix only if a file lies below it: one recursive `list_folder` that
//! stops at the first file.

use std::rc::Rc;

use serde_json::json;
use wharf_plugin::tree::{Tree, TreeItem, TreeLister};
use wharf_plugin::Result;

use crate::core::DropboxCore;
use crate::error::DropboxResult;
use crate::meta::{object_meta, ListPage, Metadata};

/// Entries per `list_folder` page: Dropbox's maximum.
const PAGE: u32 = 2000;

/// What `Store::list` returns.
pub type DropboxLister = TreeLister<DropboxTree>;

/// The folders of a Dropbox, for the walk.
pub struct DropboxTree {
    core: Rc<DropboxCore>,
    /// The listing, for messages.
    what: String,
}

/// Lists `prefix` of the store behind `core`.
pub fn lister(core: Rc<DropboxCore>, prefix: &str, delimiter: bool) -> DropboxLister {
    let tree = DropboxTree {
        core,
        what: format!("list {prefix:?}"),
    };
    TreeLister::new(tree, prefix, delimiter)
}

impl Tree for DropboxTree {
    fn items(&self, dir: &str, name_prefix: &str) -> Result<Vec<TreeItem>> {
        let mut items = Vec::new();
        self.each_page(dir, false, |entries| {
            for entry in entries {
                match entry {
                    Metadata::File(file) if file.name.starts_with(name_prefix) => {
                        let key = join(dir, &file.name);
                        items.push(TreeItem::Object(object_meta(&key, &file)));
                    }
                    Metadata::Folder(folder) if folder.name.starts_with(name_prefix) => {
                        items.push(TreeItem::Folder(join(dir, &folder.name)));
                    }
                    _ => {}
                }
            }
            true
        })?;
        Ok(items)
    }

    fn has_object(&self, dir: &str) -> Result<bool> {
        let mut found = false;
        self.each_page(dir, true, |entries| {
            found = entries.iter().any(|e| matches!(e, Metadata::File(_)));
            !found
        })?;
        Ok(found)
    }
}

impl DropboxTree {
    /// Calls `each` with every page of folder `dir` (recursively or not)
    /// until it returns false. A missing folder has no pages.
    fn each_page(
        &self,
        dir: &str,
        recursive: bool,
        mut each: impl FnMut(Vec<Metadata>) -> bool,
    ) -> DropboxResult<()> {
        let what = &self.what;
        let arg = json!({
            "path": self.core.config.folder(dir),
            "recursive": recursive,
            "limit": PAGE,
            "include_deleted": false,
        });
        let mut page: ListPage = match self.core.rpc(what, "files/list_folder", &arg) {
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
                what,
                "files/list_folder/continue",
                &json!({ "cursor": cursor }),
            )?;
        }
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}
