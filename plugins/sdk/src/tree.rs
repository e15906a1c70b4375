//! Listings for backends made of folders (a file system, FTP, Dropbox):
//! a depth-first walk of the folders below the prefix, one folder at a
//! time, each folder's entries sorted, so that keys come in the byte order
//! the contract promises while memory holds only the folders on the
//! current path. With the delimiter, only the prefix's own folder is
//! listed, and a sub-folder is a common prefix only if an object lies
//! below it (folders can outlive their last object).
//!
//! A backend implements [`Tree`] (what one folder holds) and returns a
//! [`TreeLister`] from `Store::list`.

use std::collections::VecDeque;

use crate::{Entry, Lister, ObjectMeta, Result};

/// One entry of a folder.
#[derive(Debug, Clone)]
pub enum TreeItem {
    /// An object, its key in full.
    Object(ObjectMeta),
    /// A folder, by its key without the trailing `/`.
    Folder(String),
}

impl TreeItem {
    /// Where the item falls in byte order: a folder as its key plus `/`,
    /// which is where everything below it falls.
    fn sort_key(&self) -> String {
        match self {
            TreeItem::Object(meta) => meta.key.clone(),
            TreeItem::Folder(key) => format!("{key}/"),
        }
    }
}

/// A backend's folders, as the walk sees them.
pub trait Tree: 'static {
    /// The entries of folder `dir` (a key without its trailing `/`, empty
    /// for the root) whose names start with `name_prefix`, in any order.
    /// A missing folder has none.
    fn items(&self, dir: &str, name_prefix: &str) -> Result<Vec<TreeItem>>;

    /// Whether any object lies below folder `dir`. The default walks the
    /// folder with [`Tree::items`] until it finds one; a backend with a
    /// cheaper way (a recursive listing) overrides it.
    fn has_object(&self, dir: &str) -> Result<bool> {
        let mut pending = vec![dir.to_owned()];
        while let Some(dir) = pending.pop() {
            for item in self.items(&dir, "")? {
                match item {
                    TreeItem::Object(_) => return Ok(true),
                    TreeItem::Folder(below) => pending.push(below),
                }
            }
        }
        Ok(false)
    }
}

/// The [`Lister`] of a [`Tree`].
pub struct TreeLister<T: Tree> {
    tree: T,
    prefix: String,
    delimiter: bool,
    started: bool,
    /// The unvisited items of each folder on the current path, the
    /// deepest last.
    stack: Vec<VecDeque<TreeItem>>,
}

impl<T: Tree> TreeLister<T> {
    /// Lists the keys of `tree` under `prefix`, with the delimiter `/` or
    /// without.
    pub fn new(tree: T, prefix: &str, delimiter: bool) -> Self {
        TreeLister {
            tree,
            prefix: prefix.to_owned(),
            delimiter,
            started: false,
            stack: Vec::new(),
        }
    }

    fn sorted(&self, dir: &str, name_prefix: &str) -> Result<VecDeque<TreeItem>> {
        let mut items: Vec<(String, TreeItem)> = self
            .tree
            .items(dir, name_prefix)?
            .into_iter()
            .map(|item| (item.sort_key(), item))
            .collect();
        items.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(items.into_iter().map(|(_, item)| item).collect())
    }
}

impl<T: Tree> Lister for TreeLister<T> {
    fn next(&mut self, max_entries: usize) -> Result<Vec<Entry>> {
        if !self.started {
            self.started = true;
            // The folder the prefix ends in, filtered by the rest of it.
            let (dir, name_prefix) = match self.prefix.rsplit_once('/') {
                Some((dir, rest)) => (dir.to_owned(), rest.to_owned()),
                None => (String::new(), self.prefix.clone()),
            };
            let first = self.sorted(&dir, &name_prefix)?;
            self.stack.push(first);
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
                TreeItem::Object(meta) => out.push(Entry::Object(meta)),
                TreeItem::Folder(dir) if self.delimiter => {
                    if self.tree.has_object(&dir)? {
                        out.push(Entry::CommonPrefix(format!("{dir}/")));
                    }
                }
                TreeItem::Folder(dir) => {
                    let below = self.sorted(&dir, "")?;
                    self.stack.push(below);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Folders in memory, listed in reverse order to prove the sorting.
    struct Fixed(Vec<&'static str>);

    impl Tree for Fixed {
        fn items(&self, dir: &str, name_prefix: &str) -> Result<Vec<TreeItem>> {
            let base = if dir.is_empty() {
                String::new()
            } else {
                format!("{dir}/")
            };
            let mut seen = Vec::new();
            let mut items = Vec::new();
            for key in &self.0 {
                let Some(rest) = key.strip_prefix(&base) else {
                    continue;
                };
                if !rest.starts_with(name_prefix) {
                    continue;
                }
                match rest.split_once('/') {
                    Some((folder, _)) if !seen.contains(&folder) => {
                        seen.push(folder);
                        items.push(TreeItem::Folder(format!("{base}{folder}")));
                    }
                    Some(_) => {}
                    None => items.push(TreeItem::Object(ObjectMeta {
                        key: key.to_string(),
                        size: 0,
                        last_modified: None,
                        etag: None,
                        content_type: None,
                        metadata: Vec::new(),
                    })),
                }
            }
            items.reverse();
            Ok(items)
        }
    }

    fn keys(entries: Vec<Entry>) -> Vec<String> {
        entries
            .into_iter()
            .map(|e| match e {
                Entry::Object(meta) => meta.key,
                Entry::CommonPrefix(p) => p,
            })
            .collect()
    }

    #[test]
    fn walks_in_byte_order_a_page_at_a_time() {
        let tree = Fixed(vec!["a/x", "a-b", "a.b", "b", "a/y/z", "c/d"]);
        let mut lister = TreeLister::new(tree, "", false);
        let mut all = Vec::new();
        loop {
            let page = keys(lister.next(2).unwrap());
            if page.is_empty() {
                break;
            }
            all.extend(page);
        }
        assert_eq!(all, ["a-b", "a.b", "a/x", "a/y/z", "b", "c/d"]);
    }

    #[test]
    fn delimiter_lists_one_folder_and_its_prefixes() {
        let tree = Fixed(vec!["p/a", "p/sub/b", "p/sub2/c", "q"]);
        let mut lister = TreeLister::new(tree, "p/s", true);
        assert_eq!(keys(lister.next(10).unwrap()), ["p/sub/", "p/sub2/"]);
    }
}
