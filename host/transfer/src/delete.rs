//! Deleting everything under a prefix (`rm -R`), a listing page at a time.

use std::sync::Arc;

use wharf::{Entry, Error, ErrorKind, Remote, Result};

use crate::endpoint::as_prefix;
use crate::event::{Counter, Event, Observer, Summary};
use crate::filter::Filter;

/// How [`delete_prefix`] runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeleteOptions {
    /// Delete calls in flight at once, each on an instance of its own.
    pub transfers: usize,
    /// Say what would be deleted ([`Event::WouldDelete`], each counted as
    /// planned), delete nothing.
    pub dry_run: bool,
    /// Which objects to delete (by their key below the prefix); `None`
    /// deletes all.
    pub filter: Option<Arc<Filter>>,
}

impl Default for DeleteOptions {
    fn default() -> Self {
        DeleteOptions {
            transfers: 4,
            dry_run: false,
            filter: None,
        }
    }
}

/// Deletes every object under `prefix` of `remote` (the whole remote when
/// `prefix` is empty; a key gains its `/`). Each object deleted is an
/// [`Event::Deleted`] with its whole key; the first failure stops the
/// deletion and is returned. Nothing there is an error (not found), but for
/// the whole remote.
///
/// Each listing page (up to 1,000 keys) is split into up to `transfers`
/// shares deleted at once in delete-many calls: a backend with a bulk
/// delete turns each call into one request (S3, Dropbox), one without
/// deletes on several connections at once (FTP).
pub async fn delete_prefix(
    remote: &Arc<Remote>,
    prefix: &str,
    options: &DeleteOptions,
    observer: Arc<dyn Observer>,
) -> Result<Summary> {
    let events = Counter::new(observer);
    let given = prefix;
    let prefix = as_prefix(prefix);
    let filter = options.filter.clone().filter(|f| !f.is_empty());
    let taken = |meta: &wharf::ObjectMeta| {
        filter.as_ref().is_none_or(|f| {
            let rel = meta.key.strip_prefix(prefix.as_str()).unwrap_or(&meta.key);
            f.takes(rel, meta.size, meta.last_modified.as_ref())
        })
    };
    if options.dry_run {
        let mut lister = remote.list(&prefix, None).await?;
        loop {
            let page = lister.next_page().await?;
            if page.is_empty() {
                break;
            }
            for entry in page {
                if let Entry::Object(meta) = entry {
                    if !taken(&meta) {
                        continue;
                    }
                    events.emit(Event::Planned {
                        rel: meta.key.clone(),
                        bytes: None,
                    });
                    events.emit(Event::WouldDelete { rel: meta.key });
                }
            }
        }
        return Ok(events.summary());
    }
    let mut deleted = 0u64;
    // Each pass reads one listing to its end, deleting each page as it
    // comes (as rclone deletes). Listing afresh for each page instead read
    // a folder-shaped backend's first directory whole every time (fs, FTP
    // and Dropbox read a directory whole when they enter it, to sort it):
    // `rm -R` of 100,000 files in one fs directory read it 100 times. A
    // plugin whose listing a delete behind its position does disturb (one
    // that pages by offset, say) may skip keys in a pass, so passes go on
    // until one deletes nothing; on the others the last pass is one empty
    // listing. With a filter, what it leaves would be listed again by
    // every pass: one pass, as before. A plugin whose deletes report
    // success and leave the keys would keep the passes going: they are
    // bounded (halving what is left each time, 64 passes is far more than
    // any listing needs).
    for pass in 1.. {
        if pass > MAX_PASSES {
            return Err(Error::new(
                ErrorKind::Other,
                format!(
                    "{}:{given}: keys deleted without error were still listed after \
                     {MAX_PASSES} passes; the plugin's deletes may not take effect",
                    remote.name()
                ),
            ));
        }
        let mut lister = remote.list(&prefix, None).await?;
        let before = deleted;
        loop {
            let page = lister.next_page().await?;
            if page.is_empty() {
                break;
            }
            let keys: Vec<String> = page
                .into_iter()
                .filter_map(|entry| match entry {
                    Entry::Object(meta) if taken(&meta) => Some(meta.key),
                    _ => None,
                })
                .collect();
            if keys.is_empty() {
                continue;
            }
            deleted += delete_page(remote, keys, options.transfers, &events).await?;
        }
        if filter.is_some() || deleted == before {
            break;
        }
    }
    if deleted == 0 && !prefix.is_empty() && filter.is_none() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("nothing to remove at {}:{given}", remote.name()),
        ));
    }
    Ok(events.summary())
}

/// How many listings `delete_prefix` reads before it gives up on keys that
/// come back after being deleted.
const MAX_PASSES: u32 = 64;

/// Deletes `keys` in up to `transfers` delete-many calls at once; how many
/// were deleted, or the first failure.
async fn delete_page(
    remote: &Arc<Remote>,
    keys: Vec<String>,
    transfers: usize,
    events: &Counter,
) -> Result<u64> {
    let shares = transfers.max(1).min(keys.len());
    let share = keys.len().div_ceil(shares);
    let mut calls = Vec::new();
    for chunk in keys.chunks(share) {
        let (remote, chunk) = (remote.clone(), chunk.to_vec());
        calls.push(tokio::spawn(async move {
            let results = remote.delete_many(&chunk).await;
            chunk.into_iter().zip(results).collect::<Vec<_>>()
        }));
    }
    let mut deleted = 0;
    let mut first_error = None;
    for call in calls {
        let results = call
            .await
            .map_err(|e| Error::new(ErrorKind::Other, format!("a delete task failed: {e}")))?;
        for (key, result) in results {
            match result {
                Ok(()) => {
                    deleted += 1;
                    events.emit(Event::Deleted { rel: key });
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(deleted),
    }
}
