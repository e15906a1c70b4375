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
        let (name, loaded) = match &available {
            Available::Bundled(name) => {
                (name.clone(), app.catalog.runtime().load_bundled(name).await)
            }
            Available::File { name, path, .. } => (
                name.clone(),
                app.catalog.runtime().load_file(path.clone()).await,
            ),
        };
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
        let spec = app.config.remote(&name)?;
        let origin = match &spec.origin {
            RemoteOrigin::File(path) => path.display().to_string(),
            RemoteOrigin::Environment => "environment".to_owned(),
            RemoteOrigin::Default => "built in (./media)".to_owned(),
        };
        if json {
            values.push(json!({ "name": name, "plugin": spec.plugin, "origin": origin }));
        } else {
            println!("{name:<16} {:<10} {origin}", spec.plugin);
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&values)?);
    }
    Ok(())
}
