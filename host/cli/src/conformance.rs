//! `wharf conformance`: the conformance suite against any plugin.

use anyhow::{bail, Result};
use wharf::config::HostSettings;
use wharf::Remote;
use wharf_conformance::Selection;

use crate::app::App;

/// The start of the key written and deleted once before the cases run.
const PREFLIGHT_KEY: &str = "wharf-conformance-preflight";

/// What to test.
pub struct Target {
    /// A plugin (a `.wasm` path or a name), with `options`.
    pub plugin: Option<String>,
    /// `key=value` options for `plugin`.
    pub options: Vec<String>,
    /// Or a configured remote.
    pub remote: Option<String>,
}

/// Runs the suite; returns whether every applicable case passed.
pub async fn conformance(
    app: &App,
    target: Target,
    json: bool,
    filter: Option<String>,
) -> Result<bool> {
    let mut remote = match (&target.plugin, &target.remote) {
        (Some(plugin), None) => {
            let mut options: std::collections::BTreeMap<String, String> =
                crate::parse_options(&target.options)?.into_iter().collect();
            let host = HostSettings::take("conformance", &mut options)?;
            let plugin = app.catalog.load(plugin).await?;
            let overlay = plugin.is_overlay();
            let mut remote = Remote::new(
                "conformance",
                plugin,
                options.into_iter().collect(),
                host.limits.clone(),
            )?;
            if overlay {
                // An overlay is tested on the remote its `remote` option
                // names, or else on a scratch directory of its own.
                let below = match &host.below {
                    Some(spec) => app.open_below("conformance", spec).await?,
                    None => {
                        let scratch = tempfile::tempdir()?.keep();
                        eprintln!(
                            "wharf: the overlay is tested on a scratch directory, {} (give -o \
                             remote=REMOTE:PREFIX to test it on another remote)",
                            scratch.display()
                        );
                        app.open_below("conformance", &wharf::config::BelowSpec::Directory(scratch))
                            .await?
                    }
                };
                remote = remote.with_below(below);
            }
            host.apply(remote)
        }
        (None, Some(name)) if target.options.is_empty() => app.open_remote(name).await?,
        _ => bail!(crate::UsageError(
            "give a plugin (PATH.wasm or a name) with --option key=value…, or --remote NAME".into()
        )),
    };
    // A store that cannot open (an unknown option, a wrong password, a
    // server that is down) would fail every case for the same reason: say
    // it once instead. A write, because a store may answer reads without
    // opening (the fs plugin's root before its first write) and every case
    // writes anyway.
    let preflight = format!("{PREFLIGHT_KEY}-{}", std::process::id());
    let written = remote
        .put(&preflight, &b""[..], wharf::WriteOptions::default())
        .await;
    if let Err(e) = written {
        return Err(anyhow::Error::new(e).context(format!(
            "cannot run the conformance suite: plugin '{}' cannot write to the store (every \
             case would fail the same way)",
            remote.plugin().info().name
        )));
    }
    remote.delete(&preflight).await?;
    let selection = filter.map_or(Selection::All, Selection::Matching);
    let report = wharf_conformance::run(&mut remote, &selection).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        print!("{}", report.table());
    }
    Ok(report.succeeded())
}
