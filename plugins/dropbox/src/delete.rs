//! Deleting many keys: one `files/delete_batch` job for up to 1,000 files,
//! polled with `files/delete_batch/check`
//! (<https://www.dropbox.com/developers/documentation/http/documentation#files-delete_batch>).
//! Dropbox takes each delete in a batch as one write to the account, where
//! single deletes would be one write each and compete for its lock.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wharf_plugin::{time, Error, Result};

use crate::config::check_key;
use crate::error::{DropboxError, DropboxResult};
use crate::DropboxBackend;

/// Dropbox takes at most this many entries in one batch.
const BATCH: usize = 1000;
/// The first wait before checking on a job; each later one doubles (with
/// jitter), up to [`POLL_MAX_WAIT`].
const POLL_FIRST_WAIT: Duration = Duration::from_millis(100);
const POLL_MAX_WAIT: Duration = Duration::from_secs(1);
/// A job not done by then is reported as unavailable: well inside the
/// host's time limit per call, and a retry is safe (a key already deleted
/// deletes again as a success).
const POLL_GIVE_UP: Duration = Duration::from_secs(30);

/// Deletes `keys`, one result per key, in order. Dropbox's batch would
/// delete a folder with everything in it, and a file newer than the one
/// asked for: each key is looked up first, as `delete` does, and only the
/// files found are deleted, at the revision seen.
pub fn delete_many(backend: &DropboxBackend, keys: &[&str]) -> Vec<Result<()>> {
    let mut results: Vec<Option<Result<()>>> = keys.iter().map(|_| None).collect();
    let mut files: Vec<(usize, String)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        if let Err(e) = check_key(key) {
            results[i] = Some(Err(e));
            continue;
        }
        match backend.file(&format!("delete {key:?}"), key) {
            Ok(Some(file)) => files.push((i, file.rev)),
            Ok(None) => results[i] = Some(Ok(())),
            Err(e) => results[i] = Some(Err(e.into())),
        }
    }
    for batch in files.chunks(BATCH) {
        let alone = |i: usize, rev: &str| {
            let key = keys[i];
            backend
                .delete_rev(&format!("delete {key:?}"), key, rev)
                .map_err(Error::from)
        };
        if batch.len() == 1 {
            let (i, rev) = &batch[0];
            results[*i] = Some(alone(*i, rev));
            continue;
        }
        match run_batch(backend, keys, batch) {
            Ok(outcomes) => {
                for ((i, rev), outcome) in batch.iter().zip(outcomes) {
                    results[*i] = Some(match outcome {
                        Ok(()) => Ok(()),
                        // Gone already: what a delete wants.
                        Err(e) if e.is_not_found() => Ok(()),
                        // Retried alone, with the single call's backoff.
                        Err(e) if e.tags().contains(&"too_many_write_operations") => alone(*i, rev),
                        Err(e) => Err(e.into()),
                    });
                }
            }
            Err(e) if e.tags().contains(&"too_many_write_operations") => {
                for (i, rev) in batch {
                    results[*i] = Some(alone(*i, rev));
                }
            }
            Err(e) => {
                let error = Error::from(e);
                for (i, _) in batch {
                    results[*i] = Some(Err(error.clone()));
                }
            }
        }
    }
    results
        .into_iter()
        .map(|result| result.expect("every key has a result"))
        .collect()
}

/// Launches one batch job and waits for it; returns one outcome per entry.
fn run_batch(
    backend: &DropboxBackend,
    keys: &[&str],
    batch: &[(usize, String)],
) -> DropboxResult<Vec<DropboxResult<()>>> {
    let core = &backend.core;
    let what = format!("delete {} keys in one batch", batch.len());
    let entries: Vec<Value> = batch
        .iter()
        .map(|(i, rev)| json!({ "path": core.config.path(keys[*i]), "parent_rev": rev }))
        .collect();
    let mut status: Value =
        core.rpc(&what, "files/delete_batch", &json!({ "entries": entries }))?;
    let started = Instant::now();
    let mut job: Option<String> = None;
    let mut checks = 0;
    loop {
        match tag(&status) {
            "complete" => return outcomes(&status, keys, batch, &what),
            "failed" => {
                let error = status["failed"].clone();
                return Err(DropboxError::Api {
                    what,
                    summary: summary(&error),
                    error,
                });
            }
            "async_job_id" | "in_progress" => {
                if let Some(id) = status["async_job_id"].as_str() {
                    job = Some(id.to_owned());
                }
                let Some(id) = job.as_deref() else {
                    return Err(bad_answer(&what, "an in_progress answer before any job id"));
                };
                if started.elapsed() > POLL_GIVE_UP {
                    return Err(DropboxError::Transport(Error::unavailable(format!(
                        "{what}: Dropbox had not finished the job after {} s; retry (keys \
                         already deleted delete again as successes)",
                        POLL_GIVE_UP.as_secs()
                    ))));
                }
                checks += 1;
                time::sleep(time::backoff(POLL_FIRST_WAIT, checks).min(POLL_MAX_WAIT));
                let arg = json!({ "async_job_id": id });
                status = core.rpc(&what, "files/delete_batch/check", &arg)?;
            }
            other => return Err(bad_answer(&what, &format!("a job status tagged {other:?}"))),
        }
    }
}

/// The entries of a complete job, matched to the batch in order.
fn outcomes(
    status: &Value,
    keys: &[&str],
    batch: &[(usize, String)],
    what: &str,
) -> DropboxResult<Vec<DropboxResult<()>>> {
    let entries = status["entries"]
        .as_array()
        .ok_or_else(|| bad_answer(what, "a complete job without entries"))?;
    if entries.len() != batch.len() {
        return Err(bad_answer(
            what,
            &format!("{} results for {} entries", entries.len(), batch.len()),
        ));
    }
    entries
        .iter()
        .zip(batch)
        .map(|(entry, (i, _))| match tag(entry) {
            "success" => Ok(Ok(())),
            "failure" => {
                let error = entry["failure"].clone();
                Ok(Err(DropboxError::Api {
                    what: format!("delete {:?}", keys[*i]),
                    summary: summary(&error),
                    error,
                }))
            }
            other => Err(bad_answer(what, &format!("an entry tagged {other:?}"))),
        })
        .collect()
}

/// The `.tag` of a union value, empty if it has none.
fn tag(value: &Value) -> &str {
    value[".tag"].as_str().unwrap_or_default()
}

/// An error summary like Dropbox's (`path_write/conflict/file/`) from the
/// typed error, whose unions nest under their tags.
fn summary(mut error: &Value) -> String {
    let mut summary = String::new();
    while let Some(tag) = error[".tag"].as_str() {
        summary.push_str(tag);
        summary.push('/');
        error = &error[tag];
    }
    summary
}

fn bad_answer(what: &str, detail: &str) -> DropboxError {
    DropboxError::BadResponse {
        what: what.to_owned(),
        detail: format!("files/delete_batch gave {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_follow_nested_tags() {
        let error = json!({".tag": "path_write", "path_write": {".tag": "conflict", "conflict": {".tag": "file"}}});
        assert_eq!(summary(&error), "path_write/conflict/file/");
        assert_eq!(
            summary(&json!({".tag": "too_many_write_operations"})),
            "too_many_write_operations/"
        );
        assert_eq!(summary(&json!("not a union")), "");
    }
}
