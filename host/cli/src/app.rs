//! What every command needs: the configuration and the plugin catalog.

use std::path::Path;

use anyhow::Result;
use wharf::config::Config;
use wharf::{Catalog, Remote, Runtime};

/// The configuration and plugins of one `wharf` run.
pub struct App {
    pub config: Config,
    pub catalog: Catalog,
}

impl App {
    pub fn new(config_path: Option<&Path>) -> Result<Self> {
        let config = Config::load(config_path)?;
        let runtime = Runtime::new()?;
        Ok(App {
            config,
            catalog: Catalog::new(runtime),
        })
    }

    /// Loads the plugin of remote `name` and configures it.
    pub async fn remote(&self, name: &str) -> Result<Remote> {
        let spec = self.config.remote(name)?;
        for note in &spec.notes {
            eprintln!("wharf: note: remote '{name}': {note}");
        }
        if spec.host.tls.skip_verify {
            eprintln!(
                "wharf: WARNING: remote '{name}' has tls_insecure_skip_verify = true: its server's \
                 certificate is not checked, so anyone on the way can read and change what it \
                 sends; trust the server's CA with tls_ca_file instead"
            );
        }
        Ok(self.catalog.open(&spec).await?)
    }
}
