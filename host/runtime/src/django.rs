//! Remotes configured the way Django sites configure django-storages: one
//! JSON object of options (`WHARF_REMOTE_<NAME>_OPTIONS`, or
//! `wharf config create … --options '{…}'`), with django-storages' names
//! for the S3 options (`access_key`, `bucket_name`, `endpoint_url`, …)
//! accepted as aliases of the S3 plugin's own.

use std::collections::BTreeMap;

use crate::{Error, ErrorKind, Result};

/// django-storages' S3 option names (its `OPTIONS` keys, the `AWS_S3_*`
/// settings without prefix) and the S3 plugin's names for them.
const S3_ALIASES: &[(&str, &str)] = &[
    ("access_key", "access_key_id"),
    ("secret_key", "secret_access_key"),
    ("security_token", "session_token"),
    ("bucket_name", "bucket"),
    ("endpoint_url", "endpoint"),
    ("region_name", "region"),
    ("location", "prefix"),
    ("default_acl", "acl"),
];

/// django-storages settings that shape the URLs and files Django makes,
/// not where objects are stored: accepted and left out, with a note.
const S3_DJANGO_ONLY: &[&str] = &[
    "custom_domain",
    "querystring_auth",
    "querystring_expire",
    "file_overwrite",
    "url_protocol",
    "max_memory_size",
    "object_parameters",
    "signature_version",
    "gzip",
    "gzip_content_types",
    "use_ssl",
    "cloudfront_key",
    "cloudfront_key_id",
    "proxies",
    "transfer_config",
    "client_config",
    "use_threads",
];

/// Reads one JSON object of options into text values.
pub fn options_from_json(remote: &str, json: &str) -> Result<BTreeMap<String, String>> {
    let invalid = |why: String| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("remote '{remote}': the options JSON {why}; give one object such as {{\"bucket_name\": \"media\"}}"),
        )
    };
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| invalid(format!("is not valid JSON ({e})")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(invalid("is not an object".into()));
    };
    let mut options = BTreeMap::new();
    for (key, value) in map {
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(invalid(format!("has a list or object for '{key}'"))),
        };
        options.insert(key, text);
    }
    Ok(options)
}

/// Renames django-storages' names to the plugin's own, in place; returns
/// notes about settings that were left out.
pub fn apply_aliases(plugin: &str, options: &mut BTreeMap<String, String>) -> Vec<String> {
    let mut notes = Vec::new();
    if plugin != "s3" {
        return notes;
    }
    for (alias, name) in S3_ALIASES {
        if let Some(value) = options.remove(*alias) {
            options.entry((*name).to_owned()).or_insert(value);
        }
    }
    if let Some(style) = options.remove("addressing_style") {
        let path = match style.as_str() {
            "path" => Some("true"),
            "virtual" => Some("false"),
            _ => None,
        };
        if let Some(path) = path {
            options
                .entry("force_path_style".into())
                .or_insert_with(|| path.into());
        }
    }
    // `verify`: False turns certificate checks off, a path adds a CA.
    if let Some(verify) = options.remove("verify") {
        match verify.as_str() {
            "false" | "False" => {
                options.insert("tls_insecure_skip_verify".into(), "true".into());
            }
            "true" | "True" | "" => {}
            path => {
                options
                    .entry("tls_ca_file".into())
                    .or_insert_with(|| path.into());
            }
        }
    }
    for key in S3_DJANGO_ONLY {
        if options.remove(*key).is_some() {
            notes.push(format!(
                "'{key}' is a django-storages setting for the URLs and files Django makes; Wharf does not need it"
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_storages_options_become_s3_options() {
        let mut options = options_from_json(
            "r2",
            r#"{"access_key": "AK", "secret_key": "SK", "bucket_name": "media",
                "endpoint_url": "https://acct.r2.cloudflarestorage.com", "region_name": "auto",
                "location": "uploads/", "addressing_style": "path", "querystring_auth": false,
                "file_overwrite": false, "max_memory_size": 0, "default_acl": null}"#,
        )
        .unwrap();
        let notes = apply_aliases("s3", &mut options);
        let expected: BTreeMap<String, String> = [
            ("access_key_id", "AK"),
            ("secret_access_key", "SK"),
            ("bucket", "media"),
            ("endpoint", "https://acct.r2.cloudflarestorage.com"),
            ("region", "auto"),
            ("prefix", "uploads/"),
            ("force_path_style", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(options, expected);
        assert_eq!(notes.len(), 3, "{notes:?}");
    }

    #[test]
    fn the_plugins_own_names_win_and_other_plugins_are_untouched() {
        let mut options = BTreeMap::from([
            ("bucket".to_owned(), "own".to_owned()),
            ("bucket_name".to_owned(), "alias".to_owned()),
        ]);
        apply_aliases("s3", &mut options);
        assert_eq!(options["bucket"], "own");
        let mut fs = BTreeMap::from([("location".to_owned(), "x".to_owned())]);
        apply_aliases("fs", &mut fs);
        assert_eq!(fs["location"], "x");
    }

    #[test]
    fn options_json_must_be_an_object_of_scalars() {
        assert!(options_from_json("x", "[1]").is_err());
        assert!(options_from_json("x", r#"{"a": {"b": 1}}"#).is_err());
        assert!(options_from_json("x", "{bad").is_err());
    }
}
