//! `wharf config`: create, show and delete remotes in the config file, and
//! import rclone's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use wharf::aliases;
use wharf::config::{delete_remote, replace_remote, Config, HostSettings, HOST_KEYS};

use crate::app::App;
use crate::UsageError;

/// The config file commands write to.
pub fn file(app: &App) -> Result<PathBuf> {
    match app.config.path() {
        Some(path) => Ok(path.to_path_buf()),
        None => bail!(UsageError(
            "there is no config file location (no home directory?): pass --config PATH or set WHARF_CONFIG".into()
        )),
    }
}

/// The options of a new remote, checked against its plugin's declared
/// options: every key known, every required one present.
pub async fn checked_options(
    app: &App,
    name: &str,
    plugin: &str,
    given: BTreeMap<String, String>,
) -> Result<(Vec<(String, String)>, Vec<String>)> {
    let loaded = app.catalog.load(plugin).await?;
    let info = loaded.info();
    let mut options = given;
    let notes = aliases::apply(name, loaded.aliases(), &mut options)?;
    // The host's own keys are checked by parsing them.
    let mut host_only: BTreeMap<String, String> = options
        .iter()
        .filter(|(k, _)| HOST_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    HostSettings::take(name, &mut host_only)?;
    let valid = || {
        info.options
            .iter()
            .map(|o| o.name.as_str())
            .chain(HOST_KEYS.iter().copied())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for key in options.keys() {
        if !HOST_KEYS.contains(&key.as_str()) && !info.options.iter().any(|o| &o.name == key) {
            bail!(UsageError(format!(
                "plugin '{}' has no option '{key}'; the valid keys are: {}",
                info.name,
                valid()
            )));
        }
    }
    let missing: Vec<&str> = info
        .options
        .iter()
        .filter(|o| o.required && o.default.is_none() && !options.contains_key(&o.name))
        .map(|o| o.name.as_str())
        .collect();
    if !missing.is_empty() {
        bail!(UsageError(format!(
            "plugin '{}' needs {}; the valid keys are: {}",
            info.name,
            missing
                .iter()
                .map(|m| format!("'{m}'"))
                .collect::<Vec<_>>()
                .join(", "),
            valid()
        )));
    }
    Ok((options.into_iter().collect(), notes))
}

/// `wharf config create NAME PLUGIN key=value… [--options JSON]`.
pub async fn create(
    app: &App,
    name: &str,
    plugin: &str,
    pairs: Vec<(String, String)>,
    options_json: Option<&str>,
    replace: bool,
    dry_run: bool,
) -> Result<()> {
    wharf::config::check_remote_name(name)?;
    let path = file(app)?;
    if !replace && app.config.remote_names_in_file().iter().any(|n| n == name) {
        bail!(UsageError(format!(
            "remote '{name}' already exists in {}; pass --replace to overwrite it, or `wharf config delete {name}` first",
            path.display()
        )));
    }
    let mut given = match options_json {
        Some(json) => aliases::options_from_json(name, json)?,
        None => BTreeMap::new(),
    };
    given.extend(pairs);
    let (options, notes) = checked_options(app, name, plugin, given).await?;
    for note in notes {
        eprintln!("wharf: note: {note}");
    }
    let mut entries = vec![("plugin".to_owned(), plugin.to_owned())];
    entries.extend(options);
    if dry_run {
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        eprintln!(
            "dry run: would create remote '{name}' in {} with {}; nothing was changed",
            path.display(),
            keys.join(", ")
        );
        return Ok(());
    }
    replace_remote(&path, name, &entries)?;
    eprintln!(
        "created remote '{name}' (plugin {plugin}) in {} (readable by you only)",
        path.display()
    );
    Ok(())
}

/// `wharf config show [NAME]`: the remotes as they will be used, secrets
/// masked.
pub async fn show(app: &App, name: Option<&str>) -> Result<()> {
    let names = match name {
        Some(name) => vec![name.to_owned()],
        None => app.config.remote_names(),
    };
    let mut out = String::new();
    for name in names {
        let spec = app.config.remote(&name)?;
        let secrets: Vec<String> = match app.catalog.load(&spec.plugin).await {
            Ok(plugin) => plugin
                .info()
                .options
                .iter()
                .filter(|o| o.secret)
                .map(|o| o.name.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        let origin = match &spec.origin {
            wharf::config::RemoteOrigin::File(path) => format!("from {}", path.display()),
            wharf::config::RemoteOrigin::Environment => "from the environment".into(),
            wharf::config::RemoteOrigin::Default => "built in".into(),
            wharf::config::RemoteOrigin::Inline => "given inline".into(),
            wharf::config::RemoteOrigin::Rclone(Some(path)) => {
                format!("from the rclone config {}", path.display())
            }
            wharf::config::RemoteOrigin::Rclone(None) => "from rclone's environment".into(),
        };
        out.push_str(&format!(
            "[remotes.{name}]  # {origin}\nplugin = {:?}\n",
            spec.plugin
        ));
        for (key, value) in &spec.options {
            // Unknown plugins: mask anything that looks like a credential.
            let secret = secrets.contains(key)
                || (secrets.is_empty()
                    && ["secret", "password", "token", "pass"]
                        .iter()
                        .any(|w| key.contains(w)));
            let shown = if secret && !value.is_empty() {
                "\"****\"".to_owned()
            } else {
                format!("{value:?}")
            };
            out.push_str(&format!("{key} = {shown}\n"));
        }
        let host = &spec.host;
        let defaults = wharf::Limits::default();
        if host.limits.memory != defaults.memory {
            out.push_str(&format!(
                "memory_limit_mib = {}\n",
                host.limits.memory >> 20
            ));
        }
        if host.limits.call_timeout != defaults.call_timeout {
            out.push_str(&format!(
                "call_timeout_secs = {}\n",
                host.limits.call_timeout.as_secs()
            ));
        }
        if !host.allow_hosts.is_empty() {
            out.push_str(&format!("allow_hosts = {:?}\n", host.allow_hosts));
        }
        for file in &host.tls.ca_files {
            out.push_str(&format!("tls_ca_file = {:?}\n", file.display().to_string()));
        }
        if host.tls.skip_verify {
            out.push_str("tls_insecure_skip_verify = true\n");
        }
        out.push('\n');
    }
    print!("{}", out.trim_end_matches('\n'));
    println!();
    Ok(())
}

/// `wharf config delete NAME`.
pub fn delete(app: &App, name: &str, dry_run: bool) -> Result<()> {
    let path = file(app)?;
    if dry_run {
        if !app.config.remote_names_in_file().iter().any(|n| n == name) {
            bail!(UsageError(format!(
                "there is no remote '{name}' in {} to delete",
                path.display()
            )));
        }
        eprintln!(
            "dry run: would delete remote '{name}' from {}; nothing was changed",
            path.display()
        );
        return Ok(());
    }
    if !delete_remote(&path, name)? {
        bail!(UsageError(format!(
            "there is no remote '{name}' in {} to delete",
            path.display()
        )));
    }
    eprintln!("deleted remote '{name}' from {}", path.display());
    Ok(())
}

/// The names of the remotes declared in `config`'s file.
pub trait FileRemotes {
    fn remote_names_in_file(&self) -> Vec<String>;
}

impl FileRemotes for Config {
    fn remote_names_in_file(&self) -> Vec<String> {
        self.remote_names()
            .into_iter()
            .filter(|n| {
                matches!(
                    self.remote(n).map(|s| s.origin),
                    Ok(wharf::config::RemoteOrigin::File(_))
                )
            })
            .collect()
    }
}
