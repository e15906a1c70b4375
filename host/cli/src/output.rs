//! How objects are shown: for people, and as JSON.

use serde_json::{json, Value};
use wharf::{ObjectMeta, Timestamp};

pub fn time_text(time: &Option<Timestamp>) -> String {
    match time {
        Some(t) if t.seconds >= 0 => {
            let system =
                std::time::UNIX_EPOCH + std::time::Duration::new(t.seconds as u64, t.nanoseconds);
            humantime::format_rfc3339_seconds(system).to_string()
        }
        _ => "-".to_owned(),
    }
}

pub fn meta_json(meta: &ObjectMeta) -> Value {
    json!({
        "key": meta.key,
        "size": meta.size,
        "last_modified": meta.last_modified.as_ref().map(|_| time_text(&meta.last_modified)),
        "etag": meta.etag,
        "content_type": meta.content_type,
        "metadata": meta.metadata.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
    })
}
