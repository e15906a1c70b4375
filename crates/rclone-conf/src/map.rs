//! One rclone remote as a Wharf plugin with its options: what each of
//! rclone's backends becomes, once, for every front end (reading an
//! rclone.conf in place, and `wharf config import-rclone`).

use std::collections::BTreeMap;

/// A section's keys, with rclone's empty value meaning "not set".
pub struct Keys<'a>(pub &'a BTreeMap<String, String>);

impl Keys<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
    fn is_true(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "True" | "1" | "yes"))
    }
}

/// A Wharf plugin with options, and what the user should know about how
/// rclone's settings were taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The plugin's name.
    pub plugin: &'static str,
    /// Its options (an overlay's `remote` in rclone's syntax).
    pub options: BTreeMap<String, String>,
    /// Settings taken differently or left out, one sentence each.
    pub notes: Vec<String>,
}

/// The keys of each backend that Wharf takes, for `--TYPE-KEY` flags and
/// `RCLONE_TYPE_KEY` settings: a key not here has no Wharf equivalent.
pub fn known_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "s3" => &[
            "provider",
            "access_key_id",
            "secret_access_key",
            "session_token",
            "region",
            "endpoint",
            "acl",
            "storage_class",
            "upload_concurrency",
            "force_path_style",
            "chunk_size",
            "upload_cutoff",
            "no_check_bucket",
            "env_auth",
        ],
        "crypt" => &[
            "remote",
            "password",
            "password2",
            "filename_encryption",
            "directory_name_encryption",
            "filename_encoding",
            "suffix",
            "strict_names",
            "no_data_encryption",
        ],
        "compress" => &["remote", "mode", "level"],
        "ftp" => &[
            "host",
            "port",
            "user",
            "pass",
            "tls",
            "explicit_tls",
            "no_check_certificate",
            "concurrency",
        ],
        "dropbox" => &["token", "client_id", "client_secret"],
        "alias" => &["remote"],
        _ => &[],
    }
}

/// Remote `name` of type `kind` with `keys` as a Wharf plugin; `bucket`
/// is the bucket an S3 path names. `Err` says why it cannot be used.
pub fn map(
    name: &str,
    keys: &BTreeMap<String, String>,
    bucket: Option<&str>,
) -> Result<Mapped, String> {
    let keys = Keys(keys);
    match keys.get("type").unwrap_or("") {
        "local" => Ok(local()),
        "s3" => s3(name, &keys, bucket),
        "dropbox" => dropbox(&keys),
        "ftp" => ftp(&keys),
        "crypt" => crypt(&keys),
        "compress" => compress(&keys),
        "alias" => alias(&keys),
        "" => Err("it has no type".into()),
        other => Err(match other {
            "chunker" | "hasher" => format!(
                "rclone's '{other}' wraps another remote and transforms what it stores; Wharf has no {other} layer yet"
            ),
            "union" | "combine" => {
                format!("rclone's '{other}' combines other remotes; Wharf has no {other} yet: name those remotes instead")
            }
            _ => format!("Wharf has no plugin for rclone's '{other}' backend"),
        }),
    }
}

fn local() -> Mapped {
    Mapped {
        plugin: "fs",
        options: BTreeMap::from([("root".to_owned(), "/".to_owned())]),
        notes: vec![
            "rclone's local remote reaches the whole file system, so this one is rooted at /"
                .into(),
        ],
    }
}

fn s3(name: &str, keys: &Keys, bucket: Option<&str>) -> Result<Mapped, String> {
    if keys.is_true("env_auth") && keys.get("access_key_id").is_none() {
        return Err(
            "it takes its credentials from the environment (env_auth); Wharf's S3 plugin takes them in the remote: set access_key_id and secret_access_key".into(),
        );
    }
    let Some(bucket) = bucket.filter(|b| !b.is_empty()) else {
        return Err(format!(
            "rclone's S3 remotes name the bucket first in the path: write {name}:BUCKET/PATH (Wharf does not list or create buckets)"
        ));
    };
    let mut options = BTreeMap::from([("bucket".to_owned(), bucket.to_owned())]);
    let mut notes = Vec::new();
    let provider = match keys.get("provider").unwrap_or("Other") {
        "AWS" => "aws",
        "Cloudflare" => "cloudflare",
        "DigitalOcean" => "digitalocean",
        "Scaleway" => "scaleway",
        "Wasabi" => "wasabi",
        "Minio" => "minio",
        other => {
            if other != "Other" {
                notes.push(format!(
                    "Wharf has no preset for rclone's provider '{other}'; it is used as a generic S3 endpoint"
                ));
            }
            "other"
        }
    };
    options.insert("provider".into(), provider.into());
    for key in [
        "access_key_id",
        "secret_access_key",
        "session_token",
        "region",
        "endpoint",
        "acl",
        "storage_class",
        "upload_concurrency",
        "force_path_style",
    ] {
        if let Some(value) = keys.get(key) {
            options.insert(key.into(), value.into());
        }
    }
    for (key, option) in [
        ("chunk_size", "part_size"),
        ("upload_cutoff", "upload_cutoff"),
    ] {
        let Some(size) = keys.get(key) else {
            continue;
        };
        match parse_size(size) {
            Some(bytes) => {
                options.insert(option.into(), bytes.to_string());
            }
            None => {
                return Err(format!(
                    "{key} = {size} is not a size (write it as rclone does: 5Mi, 64M)"
                ))
            }
        }
    }
    for unsupported in [
        "server_side_encryption",
        "sse_kms_key_id",
        "sse_customer_key",
    ] {
        if keys.get(unsupported).is_some() {
            notes.push(format!(
                "'{unsupported}' is not supported by Wharf's S3 plugin and was left out"
            ));
        }
    }
    Ok(Mapped {
        plugin: "s3",
        options,
        notes,
    })
}

fn dropbox(keys: &Keys) -> Result<Mapped, String> {
    let Some(token) = keys.get("token") else {
        return Err("it has no token: run `wharf authorize dropbox`".into());
    };
    let refresh = serde_json::from_str::<serde_json::Value>(token)
        .ok()
        .and_then(|t| t["refresh_token"].as_str().map(str::to_owned));
    let Some(refresh) = refresh else {
        return Err(
            "its token has no refresh_token (a token from before Dropbox's short-lived tokens): run `wharf authorize dropbox`".into(),
        );
    };
    let Some(app_key) = keys.get("client_id") else {
        return Err(
            "it uses rclone's own Dropbox app, whose refresh tokens only rclone's app can use: run `wharf authorize dropbox --app-key KEY` with your own app".into(),
        );
    };
    let mut options = BTreeMap::from([
        ("app_key".to_owned(), app_key.to_owned()),
        ("refresh_token".to_owned(), refresh),
    ]);
    if let Some(secret) = keys.get("client_secret") {
        options.insert("app_secret".into(), secret.into());
    }
    Ok(Mapped {
        plugin: "dropbox",
        options,
        notes: Vec::new(),
    })
}

fn ftp(keys: &Keys) -> Result<Mapped, String> {
    let Some(host) = keys.get("host") else {
        return Err("it has no host".into());
    };
    let mut options = BTreeMap::from([("host".to_owned(), host.to_owned())]);
    for key in ["port", "user"] {
        if let Some(value) = keys.get(key) {
            options.insert(key.into(), value.into());
        }
    }
    if let Some(obscured) = keys.get("pass") {
        let password = wharf_obscure::reveal(obscured)
            .map_err(|why| format!("its pass cannot be revealed: {why} (set it with `rclone config password` or `wharf obscure`)"))?;
        options.insert("password".into(), password);
    }
    if keys.is_true("tls") {
        options.insert("tls".into(), "implicit".into());
    } else if keys.is_true("explicit_tls") {
        options.insert("tls".into(), "explicit".into());
    }
    if keys.is_true("no_check_certificate") {
        options.insert("tls_insecure_skip_verify".into(), "true".into());
    }
    let mut notes = Vec::new();
    if let Some(concurrency) = keys.get("concurrency").filter(|c| *c != "0") {
        options.insert("concurrency".into(), concurrency.into());
    }
    if keys.is_true("disable_epsv") || keys.is_true("disable_mlsd") {
        notes.push("Wharf's FTP plugin detects EPSV and MLSD support itself; disable_epsv / disable_mlsd were left out".into());
    }
    Ok(Mapped {
        plugin: "ftp",
        options,
        notes,
    })
}

/// rclone's crypt: the crypt overlay on the same remote (or directory),
/// with the same options; its passwords stay obscured, as both take them.
fn crypt(keys: &Keys) -> Result<Mapped, String> {
    let Some(below) = keys.get("remote") else {
        return Err("it has no remote to sit on".into());
    };
    if keys.get("password").is_none() {
        return Err("it has no password".into());
    }
    let mut options = BTreeMap::from([("remote".to_owned(), below.to_owned())]);
    for key in &known_keys("crypt")[1..] {
        if let Some(value) = keys.get(key) {
            options.insert((*key).into(), value.into());
        }
    }
    let mut notes = Vec::new();
    for key in ["pass_bad_blocks", "server_side_across_configs"] {
        if keys.is_true(key) {
            notes.push(format!(
                "{key} = true was left out: Wharf's crypt has no such setting"
            ));
        }
    }
    Ok(Mapped {
        plugin: "crypt",
        options,
        notes,
    })
}

/// rclone's compress: the compress overlay, in the same mode at the same
/// level.
fn compress(keys: &Keys) -> Result<Mapped, String> {
    let Some(below) = keys.get("remote") else {
        return Err("it has no remote to sit on".into());
    };
    let mode = keys.get("mode").unwrap_or("gzip");
    if !matches!(mode, "gzip" | "zstd") {
        return Err(format!(
            "mode = {mode}: rclone's compress writes nothing in that mode (only gzip and zstd)"
        ));
    }
    let mut options = BTreeMap::from([
        ("remote".to_owned(), below.to_owned()),
        ("mode".to_owned(), mode.to_owned()),
    ]);
    if let Some(level) = keys.get("level") {
        options.insert("level".into(), level.into());
    }
    let mut notes = Vec::new();
    if keys.get("ram_cache_limit").is_some() {
        notes.push("ram_cache_limit was left out: Wharf streams without a cache".into());
    }
    Ok(Mapped {
        plugin: "compress",
        options,
        notes,
    })
}

/// An alias of a local directory is an fs remote there; one of another
/// remote's path is followed by the caller (see `RcloneConf::locate`).
fn alias(keys: &Keys) -> Result<Mapped, String> {
    let Some(target) = keys.get("remote") else {
        return Err("it has no remote to name".into());
    };
    Ok(Mapped {
        plugin: "fs",
        options: BTreeMap::from([("root".to_owned(), target.to_owned())]),
        notes: vec![format!("an fs remote on {target}, as the alias names it")],
    })
}

/// rclone's sizes: a number with an optional binary suffix (`5Mi`, `64M`,
/// `1G`; rclone reads K, M, G as powers of 1024 too).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim().trim_end_matches('B').trim_end_matches('i');
    let (digits, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let number: f64 = digits.parse().ok()?;
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    let scale = match unit {
        "" | "b" => 1u64,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        "T" | "t" => 1 << 40,
        "P" | "p" => 1 << 50,
        _ => return None,
    };
    Some((number * scale as f64) as u64)
}

/// A size given to one of rclone's flags (`--max-size`,
/// `--multi-thread-cutoff`): as [`parse_size`], but a bare number is KiB,
/// as rclone reads its flags.
pub fn parse_flag_size(text: &str) -> Option<u64> {
    let text = text.trim();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return parse_size(&format!("{text}Ki"));
    }
    parse_size(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_sizes_are_kib_without_a_suffix() {
        assert_eq!(parse_flag_size("100"), Some(100 << 10));
        assert_eq!(parse_flag_size("64M"), Some(64 << 20));
        assert_eq!(parse_flag_size("256Mi"), Some(256 << 20));
        assert_eq!(parse_flag_size("lots"), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("5Mi"), Some(5 << 20));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("1.5Gi"), Some(3 << 29));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1"), None);
    }

    #[test]
    fn an_s3_remote_takes_its_bucket_from_the_path() {
        let keys = BTreeMap::from([
            ("type".to_owned(), "s3".to_owned()),
            ("provider".to_owned(), "Cloudflare".to_owned()),
            ("chunk_size".to_owned(), "8Mi".to_owned()),
            ("upload_cutoff".to_owned(), "100Mi".to_owned()),
        ]);
        let mapped = map("r2", &keys, Some("backups")).unwrap();
        assert_eq!(mapped.plugin, "s3");
        assert_eq!(mapped.options["bucket"], "backups");
        assert_eq!(mapped.options["provider"], "cloudflare");
        assert_eq!(mapped.options["part_size"], (8u64 << 20).to_string());
        assert_eq!(mapped.options["upload_cutoff"], (100u64 << 20).to_string());
        let err = map("r2", &keys, None).unwrap_err();
        assert!(err.contains("r2:BUCKET/PATH"), "{err}");
    }

    #[test]
    fn an_unknown_backend_is_named() {
        let keys = BTreeMap::from([("type".to_owned(), "sftp".to_owned())]);
        let err = map("box", &keys, None).unwrap_err();
        assert!(err.contains("'sftp'"), "{err}");
    }
}
