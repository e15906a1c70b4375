//! What every command needs: the configuration, the plugin catalog, and
//! the remotes it opened (the library's [`Remotes`]).

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use wharf::config::Config;
use wharf::{Catalog, Remote, Remotes};

/// The configuration and plugins of one `wharf` run.
pub struct App {
    pub config: Config,
    pub catalog: Catalog,
    /// Every remote a command used, opened once: its plugin instances are
    /// shared by all the command's work.
    remotes: Remotes,
}

impl App {
    pub fn new(config_path: Option<&Path>) -> Result<Self> {
        let remotes = Remotes::load(
            config_path,
            Arc::new(|remote: &str, note: &str| {
                eprintln!("wharf: note: remote '{remote}': {}", wharf::printable(note))
            }),
        )?;
        Ok(App {
            config: remotes.config().clone(),
            catalog: remotes.catalog().clone(),
            remotes,
        })
    }

    /// The remotes, opened once each.
    pub fn remotes(&self) -> &Remotes {
        &self.remotes
    }

    /// Where `key` on remote `name` leads (rclone's path syntax for an
    /// rclone.conf remote): the remote, opened once, and the key on it.
    pub async fn locate(&self, name: &str, key: &str) -> Result<(Arc<Remote>, String)> {
        Ok(self.remotes.locate(name, key).await?)
    }

    /// Says on stderr what the remotes' plugins told the user while the
    /// command ran (names an overlay skipped), each once, naming the
    /// remote.
    pub fn report_notices(&self) {
        for (name, remote) in self.remotes.opened() {
            for notice in remote.take_notices() {
                eprintln!("wharf: note: remote '{name}': {notice}");
            }
        }
    }

    /// With `WHARF_DEBUG=loads`, says on stderr how many times each plugin
    /// was loaded and how many instances each remote started: what the
    /// tests count to prove a command loads each plugin once.
    pub fn report_loads(&self) {
        if std::env::var("WHARF_DEBUG").as_deref() != Ok("loads") {
            return;
        }
        let loads: Vec<String> = self
            .catalog
            .runtime()
            .plugin_loads()
            .iter()
            .map(|(plugin, n)| format!("{plugin}={n}"))
            .collect();
        let remotes: Vec<String> = self
            .remotes
            .opened()
            .iter()
            .map(|(name, remote)| format!("{name}={}", remote.instances_started()))
            .collect();
        eprintln!(
            "wharf: debug: plugin loads: {}; instances started: {}",
            loads.join(" "),
            remotes.join(" ")
        );
    }

    /// Remote `name` opened afresh for the caller (the remotes below an
    /// overlay shared).
    pub async fn open_remote(&self, name: &str) -> Result<Remote> {
        Ok(self.remotes.open(name).await?)
    }

    /// The remote an overlay named `owner` sits on, as `spec` names it.
    pub async fn open_below(
        &self,
        owner: &str,
        spec: &wharf::config::BelowSpec,
    ) -> Result<wharf::overlay::Below> {
        Ok(self.remotes.below(owner, spec).await?)
    }
}
