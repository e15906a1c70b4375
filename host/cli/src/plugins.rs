//! `plugins` and `remotes`: what can be used, and what each may reach.

use anyhow::Result;
use serde_json::{json, Value};
use wharf::config::RemoteOrigin;
use wharf::{Access, Available, NetworkProtocol, Plugin, PluginSource};

use crate::app::App;

/// One line per access need, in words.
pub fn access_text(access: &Access) -> String {
    match access {
        Access::Directory(option) => {
            format!("one local directory, read and write: the one named by option '{option}'")
        }
        Access::Network(network) => format!(
            "{} to {} ({})",
            protocol_text(network.protocol),
            network.endpoints.join(" or else "),
            network.reason
        ),
    }
}

/// What one network grant covers, in words: an HTTP grant of a URL with
/// a path covers that path and what is below it; any other, the host and
/// port.
fn scope_text(grant: &wharf::grant::NetworkGrant) -> String {
    let endpoint = &grant.endpoint;
    let path = endpoint
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|slash| &rest[slash..]))
        .filter(|path| !path.trim_end_matches('/').is_empty());
    match (grant.protocol, path) {
        (NetworkProtocol::Http, Some(path)) => {
            format!("{endpoint} (only {path} and what is below it)")
        }
        (NetworkProtocol::Http, None) => format!("{endpoint} (any path)"),
        (NetworkProtocol::Tcp, _) => endpoint.clone(),
    }
}

fn protocol_text(protocol: NetworkProtocol) -> &'static str {
    match protocol {
        NetworkProtocol::Http => "HTTP(S) requests",
        NetworkProtocol::Tcp => "TCP connections",
    }
}

fn plugin_json(plugin: &Plugin) -> Value {
    let info = plugin.info();
    let caps = &info.capabilities;
    json!({
        "name": info.name,
        "version": info.version,
        "description": info.description,
        "contract": plugin.contract_version(),
        "sha256": plugin.sha256(),
        "source": plugin.source().to_string(),
        "access": info.access.iter().map(access_text).collect::<Vec<_>>(),
        "options": info.options.iter().map(|o| json!({
            "name": o.name, "help": o.help, "required": o.required,
            "secret": o.secret, "default": o.default,
        })).collect::<Vec<_>>(),
        "capabilities": {
            "ranged_read": caps.ranged_read, "list_delimiter": caps.list_delimiter,
            "copy": caps.copy, "content_type": caps.content_type,
            "user_metadata": caps.user_metadata, "last_modified": caps.last_modified,
            "etag": caps.etag, "case_insensitive": caps.case_insensitive,
            "key_and_prefix": caps.key_and_prefix,
        },
    })
}

pub async fn list_plugins(app: &App, json: bool) -> Result<()> {
    let mut listed = Vec::new();
    for available in app.catalog.available() {
        let name = match &available {
            Available::Bundled(name) | Available::File { name, .. } => name.clone(),
        };
        let loaded = app.catalog.load_available(&available).await;
        let shadowed = matches!(available, Available::File { shadowed: true, .. });
        listed.push((name, loaded, shadowed));
    }
    if json {
        let values: Vec<Value> = listed
            .iter()
            .map(|(name, loaded, shadowed)| match loaded {
                Ok(plugin) => {
                    let mut value = plugin_json(plugin);
                    value["shadowed"] = json!(shadowed);
                    value
                }
                Err(e) => json!({ "name": name, "error": e.to_string() }),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&values)?);
        return Ok(());
    }
    for (name, loaded, shadowed) in &listed {
        match loaded {
            Ok(plugin) => {
                let info = plugin.info();
                let origin = match plugin.source() {
                    PluginSource::Bundled(_) => "built in".to_owned(),
                    other => other.to_string(),
                };
                println!(
                    "{name} {} (wharf:storage@{}; {origin}){}",
                    info.version,
                    plugin.contract_version(),
                    if *shadowed {
                        " [shadowed by the built-in plugin of the same name]"
                    } else {
                        ""
                    }
                );
                println!("    {}", info.description);
                if plugin.is_overlay() {
                    println!(
                        "    overlay: stores its objects in the remote below it (remote = \"REMOTE:PREFIX\"), and reaches nothing else"
                    );
                }
                for access in &info.access {
                    println!("    needs: {}", access_text(access));
                }
            }
            Err(e) => println!("{name}: cannot be loaded: {e}"),
        }
    }
    Ok(())
}

pub fn list_remotes(app: &App, json: bool) -> Result<()> {
    let mut values = Vec::new();
    for name in app.config.remote_names() {
        let spec = match app.config.remote(&name) {
            Ok(spec) => spec,
            // An rclone remote that needs its path (an S3 remote's bucket)
            // or has no Wharf plugin: listed with why, not a failure.
            Err(e) => {
                if json {
                    values.push(json!({"name": name, "unusable": e.message()}));
                } else {
                    println!("{name:<16} {:<10} {}", "-", e.message());
                }
                continue;
            }
        };
        let origin = match &spec.origin {
            RemoteOrigin::File(path) => path.display().to_string(),
            RemoteOrigin::Environment => "environment".to_owned(),
            RemoteOrigin::Default => "built in (./media)".to_owned(),
            RemoteOrigin::Inline => "given inline".to_owned(),
            RemoteOrigin::Rclone(Some(path)) => format!("rclone: {}", path.display()),
            RemoteOrigin::Rclone(None) => "rclone's environment".to_owned(),
        };
        // An overlay's chain, down to the remote that stores the bytes.
        let mut on: Vec<String> = Vec::new();
        let mut below = spec.host.below.clone();
        while let Some(next) = below {
            let described = next.describe();
            if on.contains(&described) || on.len() > 16 {
                break;
            }
            below = match &next {
                wharf::config::BelowSpec::Remote { remote, .. } => {
                    app.config.remote(remote).ok().and_then(|s| s.host.below)
                }
                wharf::config::BelowSpec::Directory(_) => None,
            };
            on.push(described);
        }
        if json {
            values.push(json!({
                "name": name,
                "plugin": spec.plugin,
                "origin": origin,
                "on": on,
            }));
        } else if on.is_empty() {
            println!("{name:<16} {:<10} {origin}", spec.plugin);
        } else {
            println!(
                "{name:<16} {:<10} {origin}; on {}",
                spec.plugin,
                on.join(" on ")
            );
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&values)?);
    }
    Ok(())
}

/// `wharf plugins inspect`: a plugin's permissions page, before trusting it.
pub async fn inspect(
    app: &App,
    plugin: &str,
    options: &[(String, String)],
    json: bool,
) -> Result<()> {
    let loaded = app.catalog.load(plugin).await?;
    let info = loaded.info();
    let plugin_is_overlay = loaded.is_overlay();
    let grant = if options.is_empty() {
        None
    } else {
        let base = std::env::current_dir()?;
        Some(wharf::grant::compute(info, options, &base).map(|(grant, _)| grant)?)
    };
    let installed = app.catalog.installed(&info.name);
    let flow = loaded.oauth_flow().await?;
    if json {
        let mut value = plugin_json(&loaded);
        if let Some(grant) = &grant {
            value["grant"] = grant_json(grant);
        }
        value["oauth_flow"] = match &flow {
            Some(flow) => json!({
                "service": flow.service,
                "authorize_url": flow.authorize_url,
                "token_url": flow.token_url,
                "authorize_parameters": flow.authorize_parameters,
                "client_id_option": flow.client_id_option,
                "client_secret_option": flow.client_secret_option,
                "refresh_token_option": flow.refresh_token_option,
                "console_url": flow.console_url,
            }),
            None => Value::Null,
        };
        value["installed"] = match &installed {
            Some((path, entry)) => {
                json!({ "path": path.display().to_string(), "sha256": entry.sha256 })
            }
            None => Value::Null,
        };
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "plugin        {} {}: {}",
        info.name, info.version, info.description
    );
    println!("from          {}", loaded.source());
    println!("sha256        {}", loaded.sha256());
    println!(
        "contract      wharf:storage@{} (this host speaks {})",
        loaded.contract_version(),
        wharf::CONTRACT_VERSION
    );
    if let Some((path, entry)) = &installed {
        let state = if entry.sha256 == loaded.sha256() {
            "same file"
        } else {
            "a different file"
        };
        println!("installed     {} ({state})", path.display());
    }
    if let Some(flow) = &flow {
        println!(
            "account       connect one with `wharf authorize {}` (OAuth 2 with {}; the token \
             goes in '{}')",
            info.name, flow.service, flow.refresh_token_option
        );
    }
    println!();
    println!("ACCESS: everything it can reach; the sandbox refuses the rest");
    if plugin_is_overlay {
        println!(
            "  the remote below it, the one `remote = \"REMOTE:PREFIX\"` names, and only through \
             the store calls (never that remote's options or credentials)"
        );
    }
    if info.access.is_empty() {
        if plugin_is_overlay {
            println!("  nothing else: no files, no network");
        } else {
            println!("  nothing: no files, no network");
        }
    }
    for access in &info.access {
        println!("  - {}", access_text(access));
    }
    match &grant {
        Some(grant) => {
            println!("  with the options given, exactly:");
            for dir in &grant.directories {
                println!("    directory {} (read and write)", dir.host_path.display());
            }
            for net in &grant.network {
                println!("    {} to {}", protocol_text(net.protocol), scope_text(net));
            }
            if grant.directories.is_empty() && grant.network.is_empty() {
                println!("    nothing");
            }
        }
        None if !info.access.is_empty() => {
            println!("  (give --option key=value to see the exact directories and hosts)")
        }
        None => {}
    }
    println!("  never: environment variables, other files, other hosts, listening sockets, UDP");
    println!();
    println!("OPTIONS");
    for option in &info.options {
        let mut flags = Vec::new();
        if option.required {
            flags.push("required".to_owned());
        }
        if option.secret {
            flags.push("secret".to_owned());
        }
        if let Some(default) = &option.default {
            flags.push(format!("default {default:?}"));
        }
        println!("  {:<22} {}", option.name, flags.join(", "));
        println!("  {:<22} {}", "", option.help);
    }
    println!();
    let caps = &info.capabilities;
    let yes = |b: bool| if b { "yes" } else { "no" };
    println!("CAPABILITIES");
    println!(
        "  ranged-read {}, list-delimiter {}, copy {}, content-type {}, user-metadata {},",
        yes(caps.ranged_read),
        yes(caps.list_delimiter),
        yes(caps.copy),
        yes(caps.content_type),
        yes(caps.user_metadata)
    );
    println!(
        "  last-modified {}, etag {}, case-insensitive {}, key-and-prefix {}",
        yes(caps.last_modified),
        yes(caps.etag),
        yes(caps.case_insensitive),
        yes(caps.key_and_prefix)
    );
    Ok(())
}

fn grant_json(grant: &wharf::grant::Grant) -> Value {
    json!({
        "directories": grant.directories.iter().map(|d| d.host_path.display().to_string()).collect::<Vec<_>>(),
        "network": grant.network.iter().map(|n| json!({
            "protocol": protocol_text(n.protocol), "endpoint": n.endpoint,
        })).collect::<Vec<_>>(),
    })
}

/// `wharf plugins install`: copy into the plugin directory, record sha256.
pub async fn install(app: &App, path: &std::path::Path, name: Option<&str>) -> Result<()> {
    let (plugin, target) = app.catalog.install(path, name).await?;
    let name = target.file_stem().unwrap().to_string_lossy().into_owned();
    println!(
        "installed {} {} as '{name}' at {}",
        plugin.info().name,
        plugin.info().version,
        target.display()
    );
    println!("sha256 {}", plugin.sha256());
    println!("use it with plugin = \"{name}\" in a remote; it is refused if the file changes");
    Ok(())
}
