//! Listing through crypt. Encrypted names sort differently from their
//! plaintext, and the contract promises plaintext byte order, so each
//! directory is listed below, decrypted and sorted on its own; a
//! recursive listing opens directories as it reaches them. Memory is
//! bounded by the largest directory, never the whole tree.

use wharf_plugin::below;
use wharf_plugin::{Entry, Error, Lister, ObjectMeta, Result};

use crate::content;
use crate::names::Names;

enum Item {
    Object(ObjectMeta),
    /// A directory: its plaintext prefix and its name below, each ending
    /// with `/`.
    Directory {
        plain: String,
        below: String,
    },
}

impl Item {
    fn key(&self) -> &str {
        match self {
            Item::Object(meta) => &meta.key,
            Item::Directory { plain, .. } => plain,
        }
    }
}

/// A listing in progress: a stack of directories, each sorted and
/// reversed, so the next entry is the last one of the top.
pub struct CryptLister {
    stack: Vec<Vec<Item>>,
    recursive: bool,
}

/// Lists directory `below_dir` (its plaintext `plain_dir`), keeping the
/// names that start with `filter`, sorted and reversed.
fn directory(
    recursion: &Recursion<'_>,
    below_dir: &str,
    plain_dir: &str,
    filter: &str,
) -> Result<Vec<Item>> {
    let (names, strict) = (recursion.names, recursion.strict);
    let lister = below::list(below_dir, Some("/"))?;
    let mut items = Vec::new();
    let mut failed: Option<(String, String)> = None;
    let mut failures = 0usize;
    loop {
        let page = lister.next(1000)?;
        if page.is_empty() {
            break;
        }
        for entry in page {
            let (name, outcome) = match entry {
                Entry::Object(mut meta) => {
                    let name = meta
                        .key
                        .strip_prefix(below_dir)
                        .unwrap_or(&meta.key)
                        .to_owned();
                    let decrypted = names.decrypt_file_segment(&name).and_then(|plain| {
                        let size = if recursion.plain_data {
                            Ok(meta.size)
                        } else {
                            content::decrypted_size(meta.size)
                        };
                        size.map(|size| (plain, size)).map_err(str::to_owned)
                    });
                    (
                        name,
                        decrypted.map(|(plain, size)| {
                            meta.key = format!("{plain_dir}{plain}");
                            meta.size = size;
                            meta.etag = None;
                            meta.content_type = None;
                            meta.metadata = Vec::new();
                            Item::Object(meta)
                        }),
                    )
                }
                Entry::CommonPrefix(prefix) => {
                    let name = prefix
                        .strip_prefix(below_dir)
                        .unwrap_or(&prefix)
                        .trim_end_matches('/')
                        .to_owned();
                    let decrypted = names.decrypt_directory(&name);
                    (
                        name,
                        decrypted.map(|plain| Item::Directory {
                            plain: format!("{plain_dir}{plain}/"),
                            below: prefix.clone(),
                        }),
                    )
                }
            };
            // The directory itself, as some stores list it (a marker
            // object whose key ends with `/`): not an entry of its own.
            if name.is_empty() {
                continue;
            }
            match outcome {
                Ok(item) => {
                    if item.key()[plain_dir.len()..].starts_with(filter) {
                        items.push(item);
                    }
                }
                Err(why) => {
                    failures += 1;
                    failed.get_or_insert((name, why));
                }
            }
        }
    }
    if let Some((name, why)) = failed {
        let place = if plain_dir.is_empty() {
            "the top"
        } else {
            plain_dir
        };
        if items.is_empty() && filter.is_empty() {
            return Err(Error::other(format!(
                "none of the {failures} names at {place} decrypts with this password (the first, \
                 {name:?}: {why}): the password is wrong, or this is not a crypt remote"
            )));
        }
        if strict {
            return Err(Error::other(format!(
                "{failures} names at {place} do not decrypt (the first, {name:?}: {why}); with \
                 strict_names = false they are skipped"
            )));
        }
        below::notice(&format!(
            "{failures} names at {place} do not decrypt and were skipped (the first, {name:?}: \
             {why}); strict_names = true makes this an error"
        ));
    }
    items.sort_by(|a, b| a.key().cmp(b.key()));
    items.reverse();
    Ok(items)
}

impl CryptLister {
    /// Lists `prefix` (plaintext) through `names`.
    pub fn open(recursion: &Recursion<'_>, prefix: &str, delimiter: Option<&str>) -> Result<Self> {
        let names = recursion.names;
        if delimiter.is_some_and(|d| d != "/") {
            return Err(Error::unsupported("crypt lists with the delimiter / only"));
        }
        let (plain_dir, filter) = match prefix.rfind('/') {
            Some(i) => prefix.split_at(i + 1),
            None => ("", prefix),
        };
        let mut below_dir = String::new();
        for segment in plain_dir.split('/').filter(|s| !s.is_empty()) {
            let name = names
                .encrypt_directory(segment)
                .map_err(|why| crate::error::unencryptable(prefix, &why))?;
            below_dir.push_str(&name);
            below_dir.push('/');
        }
        let top = directory(recursion, &below_dir, plain_dir, filter)?;
        Ok(CryptLister {
            stack: vec![top],
            recursive: delimiter.is_none(),
        })
    }

    fn next_item(&mut self) -> Option<Item> {
        loop {
            let top = self.stack.last_mut()?;
            match top.pop() {
                Some(item) => return Some(item),
                None => {
                    self.stack.pop();
                }
            }
        }
    }
}

/// The state a recursive listing needs to open directories it reaches.
pub struct Recursion<'a> {
    pub names: &'a Names,
    pub strict: bool,
    /// Sizes below are the content's (`no_data_encryption`).
    pub plain_data: bool,
}

impl CryptLister {
    /// The next entries, opening directories with `recursion`.
    pub fn next_with(&mut self, recursion: &Recursion<'_>, max: usize) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        while out.len() < max.max(1) {
            let Some(item) = self.next_item() else {
                break;
            };
            match item {
                Item::Object(meta) => out.push(Entry::Object(meta)),
                Item::Directory { plain, below } => {
                    if self.recursive {
                        let frame = directory(recursion, &below, &plain, "")?;
                        self.stack.push(frame);
                    } else {
                        out.push(Entry::CommonPrefix(plain));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A listing that owns what it needs to go on.
pub struct OwnedLister {
    pub lister: CryptLister,
    pub names: std::rc::Rc<Names>,
    pub strict: bool,
    pub plain_data: bool,
}

impl Lister for OwnedLister {
    fn next(&mut self, max_entries: usize) -> Result<Vec<Entry>> {
        let recursion = Recursion {
            names: &self.names,
            strict: self.strict,
            plain_data: self.plain_data,
        };
        self.lister.next_with(&recursion, max_entries)
    }
}
