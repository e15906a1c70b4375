//! `wharf config import-rclone [PATH]`: turns the remotes of an existing
//! `rclone.conf` into Wharf remotes (local, s3, dropbox, ftp, and the
//! crypt and compress overlays, through aliases). Every
//! section it cannot map is reported with the reason, never dropped
//! silently.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use wharf::config::replace_remote;

use crate::app::App;
use crate::config_cmd::{checked_options, file, FileRemotes};
use crate::UsageError;
use wharf_rclone_conf::RcloneConf;

/// One section of rclone.conf, every override applied.
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

pub async fn import(
    app: &App,
    path: Option<PathBuf>,
    buckets: &[(String, String)],
    replace: bool,
    dry_run: bool,
) -> Result<()> {
    let Some(path) = path.or_else(wharf_rclone_conf::default_path) else {
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
    let password = std::env::var("RCLONE_CONFIG_PASS").ok();
    let conf = RcloneConf::parse(&text, Some(path.clone()), password.as_deref())
        .map_err(|why| anyhow::anyhow!(why))?
        .with_vars(std::env::vars().collect());
    let target = file(app)?;
    let existing = app.config.remote_names_in_file();
    let (mut imported, mut skipped) = (0, 0);
    let mut sections: Vec<Section> = conf
        .names()
        .into_iter()
        .filter_map(|name| {
            let values = conf.keys(&name)?;
            Some(Section { name, values })
        })
        .collect();
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

/// A section as a Wharf remote: the shared mapping, with the bucket
/// `--bucket` gave an S3 remote, and where an overlay sits.
fn map(section: &Section, buckets: &[(String, String)]) -> Outcome {
    // An alias of another remote's path has nothing to import: the remotes
    // that sat on it were pointed past it (`resolve_aliases`). One of a
    // local directory is mapped as any section.
    if section.get("type") == Some("alias") {
        if let Some(target) = section
            .get("remote")
            .filter(|t| wharf_rclone_conf::split_remote(t).is_some())
        {
            return Outcome::Skipped(format!(
                "it is another name for {target}: use {target} in Wharf (remotes that sat on \
                 this alias now sit on it directly)"
            ));
        }
    }
    let bucket = buckets
        .iter()
        .find(|(remote, _)| *remote == section.name)
        .map(|(_, b)| b.as_str());
    if section.get("type") == Some("s3") && bucket.is_none() {
        return Outcome::Skipped(format!(
            "rclone names the bucket in each path (remote:bucket/key), a Wharf S3 remote holds one bucket: run again with --bucket {}=BUCKET (or use it in place: Wharf reads rclone.conf as it is)",
            section.name
        ));
    }
    match wharf_rclone_conf::map(&section.name, &section.values, bucket) {
        Err(why) => Outcome::Skipped(why),
        Ok(mapped) => {
            let mut notes = mapped.notes;
            if let Some(below) = mapped.options.get("remote") {
                notes.insert(0, sits_on(below));
            }
            if mapped.plugin == "fs" && section.get("type") == Some("local") {
                notes
                    .push("narrow it with `wharf config create NAME fs root=DIR --replace`".into());
            }
            Outcome::Remote {
                plugin: mapped.plugin,
                options: mapped.options,
                notes,
            }
        }
    }
}

/// Where an overlay sits, for the user: a directory, or a remote that must
/// be imported too.
fn sits_on(below: &str) -> String {
    if wharf_rclone_conf::split_remote(below).is_none() {
        format!("it sits on the local directory {below}")
    } else {
        format!("it sits on {below}: import that remote too (Wharf opens the chain by name)")
    }
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
