//! Listing through compress: each directory below is listed as it is
//! reached, its metadata objects left out and each data object shown under
//! the name and size its name carries (rclone reads no metadata to list
//! either). Data names sort differently from the names they carry, so the
//! shared folder walk orders each directory on its own.

use wharf_plugin::below;
use wharf_plugin::tree::{Tree, TreeItem};
use wharf_plugin::{Entry, Result};

use crate::names::{self, Listed};

/// The directories below, as the walk sees them.
pub struct Below;

impl Tree for Below {
    fn items(&self, dir: &str, name_prefix: &str) -> Result<Vec<TreeItem>> {
        let base = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let lister = below::list(&format!("{base}{name_prefix}"), Some("/"))?;
        let mut items = Vec::new();
        let (mut foreign, mut first_foreign) = (0usize, None);
        loop {
            let page = lister.next(1000)?;
            if page.is_empty() {
                break;
            }
            for entry in page {
                match entry {
                    Entry::Object(mut meta) => {
                        let name = &meta.key[base.len()..];
                        let (key, size) = match names::parse(name) {
                            Listed::Data { key, size } => (key, size),
                            Listed::Hidden => continue,
                            Listed::Foreign => {
                                foreign += 1;
                                first_foreign.get_or_insert_with(|| name.to_owned());
                                continue;
                            }
                        };
                        if !key.starts_with(name_prefix) {
                            continue;
                        }
                        meta.key = format!("{base}{key}");
                        meta.size = size.unwrap_or(meta.size);
                        meta.etag = None;
                        meta.content_type = None;
                        meta.metadata = Vec::new();
                        items.push(TreeItem::Object(meta));
                    }
                    Entry::CommonPrefix(prefix) => {
                        let folder = prefix.trim_end_matches('/');
                        // The directory itself, as some stores list it.
                        if folder.len() > base.len() {
                            items.push(TreeItem::Folder(folder.to_owned()));
                        }
                    }
                }
            }
        }
        if let Some(first) = first_foreign {
            let place = if dir.is_empty() { "the top" } else { dir };
            below::notice(&format!(
                "{foreign} objects at {place} are not rclone compress objects and were skipped \
                 (the first, {first:?}: its name carries no size and is not .bin)"
            ));
        }
        // Two data objects for one name (another tool's interrupted
        // write): listed once.
        items.sort_by(|a, b| item_key(a).cmp(&item_key(b)));
        items.dedup_by(|a, b| item_key(a) == item_key(b));
        Ok(items)
    }

    /// A directory below is listed only if something lies in it.
    fn has_object(&self, _dir: &str) -> Result<bool> {
        Ok(true)
    }
}

/// An item's key, a folder's marked as one: an object and a folder of the
/// same name are two items.
fn item_key(item: &TreeItem) -> (&str, bool) {
    match item {
        TreeItem::Object(meta) => (&meta.key, false),
        TreeItem::Folder(key) => (key, true),
    }
}
