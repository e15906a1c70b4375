//! ListObjectsV2, a page at a time, with continuation tokens.

use std::collections::VecDeque;
use std::rc::Rc;

use wharf_plugin::{Entry, Error, Lister, ObjectMeta, Result};

use crate::core::{S3Core, MAX_XML};
use crate::meta::parse_iso8601;

/// A listing in progress: entries fetched but not yet returned, and where
/// the server said to go on.
pub struct S3Lister {
    core: Rc<S3Core>,
    prefix: String,
    delimiter: bool,
    token: Option<String>,
    pending: VecDeque<Entry>,
    done: bool,
}

impl S3Lister {
    pub fn new(core: Rc<S3Core>, prefix: &str, delimiter: bool) -> Self {
        S3Lister {
            core,
            prefix: prefix.to_owned(),
            delimiter,
            token: None,
            pending: VecDeque::new(),
            done: false,
        }
    }

    fn fetch(&mut self) -> Result<()> {
        let full_prefix = self.core.full_key(&self.prefix);
        let mut query = vec![
            ("list-type", "2"),
            ("max-keys", "1000"),
            ("prefix", full_prefix.as_str()),
        ];
        if self.delimiter {
            query.push(("delimiter", "/"));
        }
        if let Some(token) = &self.token {
            query.push(("continuation-token", token.as_str()));
        }
        let path = format!("{}/", self.core.bucket_path());
        let mut response = self.core.send("GET", &path, &query, &[], b"")?;
        if response.status() != 200 {
            return Err(self
                .core
                .parse_error(&format!("list {:?}", self.prefix), response));
        }
        let body = response.read_all(MAX_XML)?;
        let text = std::str::from_utf8(&body).map_err(|_| {
            Error::other(format!("list {:?}: the listing is not UTF-8", self.prefix))
        })?;
        let doc = roxmltree::Document::parse(text).map_err(|e| {
            Error::other(format!(
                "list {:?}: the listing is not valid XML: {e}",
                self.prefix
            ))
        })?;
        let root_prefix = &self.core.config.prefix;
        let child = |node: roxmltree::Node, name: &str| {
            node.children()
                .find(|c| c.has_tag_name(name))
                .and_then(|c| c.text())
                .map(str::to_owned)
        };
        let mut objects = Vec::new();
        let mut prefixes = Vec::new();
        for node in doc.root_element().children() {
            if node.has_tag_name("Contents") {
                let Some(key) = child(node, "Key") else {
                    continue;
                };
                let Some(key) = key.strip_prefix(root_prefix.as_str()).map(str::to_owned) else {
                    continue;
                };
                objects.push(Entry::Object(ObjectMeta {
                    key,
                    size: child(node, "Size")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                    last_modified: child(node, "LastModified").and_then(|t| parse_iso8601(&t)),
                    etag: child(node, "ETag"),
                    content_type: None,
                    metadata: Vec::new(),
                }));
            } else if node.has_tag_name("CommonPrefixes") {
                if let Some(p) = child(node, "Prefix")
                    .and_then(|p| p.strip_prefix(root_prefix.as_str()).map(str::to_owned))
                {
                    prefixes.push(Entry::CommonPrefix(p));
                }
            }
        }
        // The server lists objects and prefixes apart, each in order; the
        // contract wants one listing in key order.
        let name = |e: &Entry| match e {
            Entry::Object(m) => m.key.clone(),
            Entry::CommonPrefix(p) => p.clone(),
        };
        let mut merged: Vec<Entry> = objects.into_iter().chain(prefixes).collect();
        merged.sort_by_key(name);
        self.pending.extend(merged);
        let truncated = child(doc.root_element(), "IsTruncated").as_deref() == Some("true");
        self.token = child(doc.root_element(), "NextContinuationToken");
        self.done = !truncated || self.token.is_none();
        Ok(())
    }
}

impl Lister for S3Lister {
    fn next(&mut self, max_entries: usize) -> Result<Vec<Entry>> {
        while self.pending.len() < max_entries && !self.done {
            self.fetch()?;
        }
        let n = max_entries.min(self.pending.len());
        Ok(self.pending.drain(..n).collect())
    }
}
