//! Temporary links (`files/get_temporary_link`): Dropbox makes each good
//! for four hours, whatever the caller wants, so a link is kept and given
//! again while it has at least the asked time left, instead of a call per
//! URL (a gallery page asks for dozens).

use std::cell::RefCell;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::json;
use wharf_plugin::{time, PresignedUrl};

use crate::core::DropboxCore;
use crate::error::DropboxResult;

/// How long Dropbox's temporary links work.
const LINK_LIFETIME: u64 = 4 * 3600;
/// Taken off a link's life for the time between Dropbox making it and the
/// caller using it, and for clocks that differ.
const MARGIN: u64 = 60;
/// The longest expiry the store offers (what `describe` declares).
pub const MAX_EXPIRY: u64 = LINK_LIFETIME - MARGIN;
/// Links kept at most; past it the oldest go.
const KEPT: usize = 1024;

#[derive(Default)]
pub struct Links(RefCell<HashMap<String, (String, i64)>>);

#[derive(Deserialize)]
struct TemporaryLink {
    link: String,
}

impl Links {
    /// A link to `key` that works for at least `expires_in` seconds.
    pub fn link(
        &self,
        core: &DropboxCore,
        key: &str,
        expires_in: u64,
    ) -> DropboxResult<PresignedUrl> {
        let now = time::now().seconds;
        if let Some((link, made)) = self.0.borrow().get(key) {
            let left = MAX_EXPIRY.saturating_sub(now.saturating_sub(*made).max(0) as u64);
            if left >= expires_in {
                return Ok(PresignedUrl {
                    url: link.clone(),
                    expires_in: Some(left),
                });
            }
        }
        let answer: TemporaryLink = core.rpc(
            &format!("link {key:?}"),
            "files/get_temporary_link",
            &json!({ "path": core.config.path(key) }),
        )?;
        let mut kept = self.0.borrow_mut();
        if kept.len() >= KEPT {
            if let Some(oldest) = kept
                .iter()
                .min_by_key(|(_, (_, made))| *made)
                .map(|(k, _)| k.clone())
            {
                kept.remove(&oldest);
            }
        }
        kept.insert(key.to_owned(), (answer.link.clone(), now));
        Ok(PresignedUrl {
            url: answer.link,
            expires_in: Some(MAX_EXPIRY),
        })
    }

    /// Forgets the link to `key`: the object there changed or went.
    pub fn forget(&self, key: &str) {
        self.0.borrow_mut().remove(key);
    }
}
