//! `wharf config import-rclone [PATH]`: turns the remotes of an existing
//! `rclone.conf` into Wharf remotes (local, s3, dropbox, ftp, and the
//! crypt and compress overlays, through aliases). Every
//! section it cannot map is reported with the reason, never dropped
//! silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use wharf::config::replace_remote;

use crate::app::App;
use crate::config_cmd::{checked_options, file, FileRemotes};
use crate::UsageError;

/// One section of rclone.conf.
struct Section {
    name: String,
    values: BTreeMap<String, String>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
    fn is_true(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "True" | "1" | "yes"))
    }
}

/// What became of one section.
enum Outcome {
    /// A Wharf remote: its plugin, options and notes for the user.
    Remote {
        plugin: &'static str,
        options: BTreeMap<String, String>,
        notes: Vec<String>,
    },
    /// Not imported, and why.
    Skipped(String),
}

/// rclone's own default location of its config file.
pub fn default_path() -> Option<PathBuf> {
    std::env::var_os("RCLONE_CONFIG")
        .map(PathBuf::from)
        .or_else(|| dirs_config().map(|d| d.join("rclone").join("rclone.conf")))
}

fn dirs_config() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
}

pub async fn import(
    app: &App,
    path: Option<PathBuf>,
    buckets: &[(String, String)],
    replace: bool,
    dry_run: bool,
) -> Result<()> {
    let Some(path) = path.or_else(default_path) else {
        bail!(UsageError(
            "cannot tell where rclone.conf is: give its path (rclone config file prints it)".into()
        ));
    };
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}; give the path of rclone.conf",
            path.display()
        )
    })?;
    let target = file(app)?;
    let existing = app.config.remote_names_in_file();
    let (mut imported, mut skipped) = (0, 0);
    let mut sections = parse(&text);
    resolve_aliases(&mut sections);
    let compressing: Vec<String> = sections
        .iter()
        .filter(|s| s.get("type") == Some("compress"))
        .map(|s| s.name.clone())
        .collect();
    for section in sections {
        let name = section.name.clone();
        let outcome = match wharf::config::check_remote_name(&name) {
            Err(_) => Outcome::Skipped(
                "its name is not a valid Wharf remote name (letters, digits, '_' and '-')".into(),
            ),
            Ok(()) if existing.contains(&name) && !replace => Outcome::Skipped(format!(
                "a Wharf remote '{name}' already exists (pass --replace to overwrite it)"
            )),
            Ok(()) => map(&section, buckets),
        };
        let outcome = match outcome {
            Outcome::Remote {
                plugin: "crypt",
                options,
                mut notes,
            } => {
                let below = options["remote"].split(':').next().unwrap_or("");
                if compressing.iter().any(|c| c == below) {
                    notes.push(format!(
                        "it encrypts before {below} compresses, so {below} sees only ciphertext \
                         and stores everything uncompressed; compress over crypt is the order \
                         that saves space"
                    ));
                }
                Outcome::Remote {
                    plugin: "crypt",
                    options,
                    notes,
                }
            }
            other => other,
        };
        match outcome {
            Outcome::Skipped(reason) => {
                skipped += 1;
                let kind = section.get("type").unwrap_or("?");
                println!("skipped  {name} (type {kind}): {reason}");
            }
            Outcome::Remote {
                plugin,
                options,
                notes,
            } => match checked_options(app, &name, plugin, options).await {
                Ok((options, _)) => {
                    let mut entries = vec![("plugin".to_owned(), plugin.to_owned())];
                    entries.extend(options);
                    if !dry_run {
                        replace_remote(&target, &name, &entries)?;
                    }
                    imported += 1;
                    let verb = if dry_run { "would import" } else { "imported" };
                    println!("{verb} {name} as a {plugin} remote");
                    for note in notes {
                        println!("         note: {note}");
                    }
                }
                Err(e) => {
                    skipped += 1;
                    println!("skipped  {name} ({plugin}): {e}");
                }
            },
        }
    }
    if dry_run {
        println!(
            "dry run: {imported} would be imported, {skipped} skipped; {} was not changed",
            target.display()
        );
    } else {
        println!(
            "{imported} imported, {skipped} skipped, into {} (readable by you only)",
            target.display()
        );
    }
    Ok(())
}

fn parse(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push(Section {
                name: name.trim().to_owned(),
                values: BTreeMap::new(),
            });
        } else if let (Some(section), Some((key, value))) =
            (sections.last_mut(), line.split_once('='))
        {
            section
                .values
                .insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    sections
}

fn map(section: &Section, buckets: &[(String, String)]) -> Outcome {
    match section.get("type").unwrap_or("") {
        "local" => local(),
        "s3" => s3(section, buckets),
        "dropbox" => dropbox(section),
        "ftp" => ftp(section),
        "crypt" => crypt(section),
        "compress" => compress(section),
        "alias" => alias(section),
        "" => Outcome::Skipped("it has no type".into()),
        other => Outcome::Skipped(match other {
            "chunker" | "hasher" => format!(
                "'{other}' wraps another remote and transforms what it stores; Wharf has no {other} layer yet"
            ),
            "union" | "combine" => {
                format!("'{other}' combines other remotes; import those instead")
            }
            _ => format!("Wharf has no plugin for rclone's '{other}' backend"),
        }),
    }
}

fn local() -> Outcome {
    Outcome::Remote {
        plugin: "fs",
        options: BTreeMap::from([("root".to_owned(), "/".to_owned())]),
        notes: vec![
            "rclone's local remote reaches the whole file system, so this one is rooted at /; narrow it with `wharf config create NAME fs root=DIR --replace`".into(),
        ],
    }
}

fn s3(section: &Section, buckets: &[(String, String)]) -> Outcome {
    if section.is_true("env_auth") && section.get("access_key_id").is_none() {
        return Outcome::Skipped(
            "it takes its credentials from the environment (env_auth); Wharf keeps them in the remote: create it with `wharf config create NAME s3 …`".into(),
        );
    }
    let Some(bucket) = buckets
        .iter()
        .find(|(remote, _)| *remote == section.name)
        .map(|(_, b)| b.clone())
    else {
        return Outcome::Skipped(format!(
            "rclone names the bucket in each path (remote:bucket/key), a Wharf S3 remote holds one bucket: run again with --bucket {}=BUCKET",
            section.name
        ));
    };
    let mut options = BTreeMap::from([("bucket".to_owned(), bucket)]);
    let mut notes = Vec::new();
    let provider = match section.get("provider").unwrap_or("Other") {
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
    for (from, to) in [
        ("access_key_id", "access_key_id"),
        ("secret_access_key", "secret_access_key"),
        ("session_token", "session_token"),
        ("region", "region"),
        ("endpoint", "endpoint"),
        ("acl", "acl"),
        ("storage_class", "storage_class"),
        ("upload_concurrency", "upload_concurrency"),
        ("force_path_style", "force_path_style"),
    ] {
        if let Some(value) = section.get(from) {
            options.insert(to.into(), value.into());
        }
    }
    if let Some(size) = section.get("chunk_size") {
        match parse_size(size) {
            Some(bytes) => {
                options.insert("part_size".into(), bytes.to_string());
            }
            None => notes.push(format!(
                "chunk_size = {size} is not a size Wharf reads; the default part size is used"
            )),
        }
    }
    if section.is_true("no_check_bucket") {
        notes.push(
            "no_check_bucket: Wharf never checks or creates the bucket, so nothing to set".into(),
        );
    }
    for unsupported in [
        "server_side_encryption",
        "sse_kms_key_id",
        "sse_customer_key",
    ] {
        if section.get(unsupported).is_some() {
            notes.push(format!(
                "'{unsupported}' is not supported by Wharf's S3 plugin and was left out"
            ));
        }
    }
    Outcome::Remote {
        plugin: "s3",
        options,
        notes,
    }
}

fn dropbox(section: &Section) -> Outcome {
    let Some(token) = section.get("token") else {
        return Outcome::Skipped("it has no token: run `wharf authorize dropbox`".into());
    };
    let refresh = serde_json::from_str::<serde_json::Value>(token)
        .ok()
        .and_then(|t| t["refresh_token"].as_str().map(str::to_owned));
    let Some(refresh) = refresh else {
        return Outcome::Skipped(
            "its token has no refresh_token (a token from before Dropbox's short-lived tokens): run `wharf authorize dropbox`".into(),
        );
    };
    let Some(app_key) = section.get("client_id") else {
        return Outcome::Skipped(
            "it uses rclone's own Dropbox app, whose refresh tokens only rclone's app can use: run `wharf authorize dropbox --app-key KEY` with your own app".into(),
        );
    };
    let mut options = BTreeMap::from([
        ("app_key".to_owned(), app_key.to_owned()),
        ("refresh_token".to_owned(), refresh),
    ]);
    if let Some(secret) = section.get("client_secret") {
        options.insert("app_secret".into(), secret.into());
    }
    Outcome::Remote {
        plugin: "dropbox",
        options,
        notes: Vec::new(),
    }
}

fn ftp(section: &Section) -> Outcome {
    let Some(host) = section.get("host") else {
        return Outcome::Skipped("it has no host".into());
    };
    let mut options = BTreeMap::from([("host".to_owned(), host.to_owned())]);
    for key in ["port", "user"] {
        if let Some(value) = section.get(key) {
            options.insert(key.into(), value.into());
        }
    }
    if let Some(obscured) = section.get("pass") {
        match reveal(obscured) {
            Some(password) => {
                options.insert("password".into(), password);
            }
            None => {
                return Outcome::Skipped(
                    "its password is not in rclone's obscured form (was it edited by hand?)".into(),
                )
            }
        }
    }
    if section.is_true("tls") {
        options.insert("tls".into(), "implicit".into());
    } else if section.is_true("explicit_tls") {
        options.insert("tls".into(), "explicit".into());
    }
    if section.is_true("no_check_certificate") {
        options.insert("tls_insecure_skip_verify".into(), "true".into());
    }
    let mut notes = Vec::new();
    if let Some(concurrency) = section.get("concurrency").filter(|c| *c != "0") {
        options.insert("concurrency".into(), concurrency.into());
    }
    if section.is_true("disable_epsv") || section.is_true("disable_mlsd") {
        notes.push("Wharf's FTP plugin detects EPSV and MLSD support itself; disable_epsv / disable_mlsd were left out".into());
    }
    Outcome::Remote {
        plugin: "ftp",
        options,
        notes,
    }
}

/// rclone's crypt: the crypt overlay, on the same remote (or directory),
/// with the same options; its passwords stay obscured, as both take them.
fn crypt(section: &Section) -> Outcome {
    let Some(below) = section.get("remote").filter(|r| !r.is_empty()) else {
        return Outcome::Skipped("it has no remote to sit on".into());
    };
    if section.get("password").is_none_or(str::is_empty) {
        return Outcome::Skipped("it has no password".into());
    }
    let mut options = BTreeMap::from([("remote".to_owned(), below.to_owned())]);
    for key in [
        "password",
        "password2",
        "filename_encryption",
        "directory_name_encryption",
        "filename_encoding",
        "suffix",
        "strict_names",
        "no_data_encryption",
    ] {
        if let Some(value) = section.get(key).filter(|v| !v.is_empty()) {
            options.insert(key.into(), value.into());
        }
    }
    let mut notes = vec![sits_on(below)];
    for key in ["pass_bad_blocks", "server_side_across_configs"] {
        if section.is_true(key) {
            notes.push(format!(
                "{key} = true was left out: Wharf's crypt has no such setting"
            ));
        }
    }
    Outcome::Remote {
        plugin: "crypt",
        options,
        notes,
    }
}

/// Where an overlay sits, for the user: a directory, or a remote that must
/// be imported too.
fn sits_on(below: &str) -> String {
    if !below.contains(':') || below.starts_with('/') {
        format!("it sits on the local directory {below}")
    } else {
        format!("it sits on {below}: import that remote too (Wharf opens the chain by name)")
    }
}

/// rclone's compress: the compress overlay, in the same mode at the same
/// level.
fn compress(section: &Section) -> Outcome {
    let Some(below) = section.get("remote") else {
        return Outcome::Skipped("it has no remote to sit on".into());
    };
    let mode = section.get("mode").unwrap_or("gzip");
    if !matches!(mode, "gzip" | "zstd") {
        return Outcome::Skipped(format!(
            "mode = {mode}: rclone's compress writes nothing in that mode (only gzip and zstd)"
        ));
    }
    let mut options = BTreeMap::from([
        ("remote".to_owned(), below.to_owned()),
        ("mode".to_owned(), mode.to_owned()),
    ]);
    if let Some(level) = section.get("level") {
        options.insert("level".into(), level.into());
    }
    let mut notes = vec![sits_on(below)];
    if section.get("ram_cache_limit").is_some() {
        notes.push("ram_cache_limit was left out: Wharf streams without a cache".into());
    }
    Outcome::Remote {
        plugin: "compress",
        options,
        notes,
    }
}

/// rclone's alias names another remote's path; Wharf takes `REMOTE:PATH`
/// wherever rclone does, so an alias of a local directory becomes an fs
/// remote, and one of another remote is followed by the overlays that sit
/// on it (see [`resolve_aliases`]).
fn alias(section: &Section) -> Outcome {
    let Some(target) = section.get("remote") else {
        return Outcome::Skipped("it has no remote to name".into());
    };
    if !target.contains(':') || target.starts_with('/') {
        return Outcome::Remote {
            plugin: "fs",
            options: BTreeMap::from([("root".to_owned(), target.to_owned())]),
            notes: vec![format!("an fs remote on {target}, as the alias named it")],
        };
    }
    Outcome::Skipped(format!(
        "it is another name for {target}: use {target} in Wharf (remotes that sat on this alias \
         now sit on it directly)"
    ))
}

/// Rewrites each `remote =` that goes through an alias to where the alias
/// points (`photos:2026` with `photos = r2:media` becomes `r2:media/2026`),
/// following aliases of aliases; a circle is left as it is.
fn resolve_aliases(sections: &mut [Section]) {
    let aliases: BTreeMap<String, String> = sections
        .iter()
        .filter(|s| s.get("type") == Some("alias"))
        .filter_map(|s| Some((s.name.clone(), s.get("remote")?.to_owned())))
        .collect();
    for section in sections.iter_mut() {
        if section.get("type") == Some("alias") {
            continue;
        }
        let Some(mut remote) = section.get("remote").map(str::to_owned) else {
            continue;
        };
        for _ in 0..aliases.len() {
            let Some((name, path)) = remote.split_once(':') else {
                break;
            };
            let Some(target) = aliases.get(name) else {
                break;
            };
            remote = join(target, path);
        }
        section.values.insert("remote".into(), remote);
    }
}

/// `target` (`REMOTE:PATH` or a directory) with `path` below it.
fn join(target: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        target.to_owned()
    } else if target.ends_with(':') || target.ends_with('/') {
        format!("{target}{path}")
    } else {
        format!("{target}/{path}")
    }
}

/// rclone's `obscure` undone (`wharf_obscure`), or `None` for a value
/// that is not an obscured password.
pub fn reveal(obscured: &str) -> Option<String> {
    wharf_obscure::reveal(obscured).ok()
}

/// rclone's sizes: a number with an optional binary suffix (`5Mi`, `64M`,
/// `1G`; rclone reads K, M, G as powers of 1024 too).
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim().trim_end_matches('B').trim_end_matches('i');
    let (digits, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let number: f64 = digits.parse().ok()?;
    let scale = match unit {
        "" | "b" => 1u64,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        "T" | "t" => 1 << 40,
        _ => return None,
    };
    Some((number * scale as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reveals_what_rclone_obscure_made() {
        // `rclone obscure hello-secret` (v1.75.2).
        assert_eq!(
            reveal("zdhTHyJiwaD607utla6Zwa5_1W9na457Zq2NyQ").as_deref(),
            Some("hello-secret")
        );
        assert_eq!(reveal("not base64!"), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("5Mi"), Some(5 << 20));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("1.5Gi"), Some(3 << 29));
        assert_eq!(parse_size("lots"), None);
    }
}
