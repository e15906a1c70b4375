//! What every command needs: the configuration and the plugin catalog.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use wharf::config::Config;
use wharf::{Catalog, Remote, Runtime};

/// The configuration and plugins of one `wharf` run.
pub struct App {
    pub config: Config,
    pub catalog: Catalog,
    /// Every remote a command used, opened once: its plugin instances are
    /// shared by all the command's work.
    remotes: Mutex<HashMap<String, Arc<Remote>>>,
}

impl App {
    pub fn new(config_path: Option<&Path>) -> Result<Self> {
        let config = Config::load(config_path)?;
        let runtime = Runtime::new()?;
        let mut catalog = Catalog::new(runtime);
        if let Some(path) = Config::default_path(config_path) {
            catalog = catalog.with_config(&path);
        }
        Ok(App {
            config,
            catalog,
            remotes: Mutex::new(HashMap::new()),
        })
    }

    /// Remote `name`, opened on first use and shared after.
    pub async fn remote(&self, name: &str) -> Result<Arc<Remote>> {
        if let Some(remote) = self.remotes.lock().unwrap().get(name) {
            return Ok(remote.clone());
        }
        let remote = Arc::new(self.open_remote(name).await?);
        self.remotes
            .lock()
            .unwrap()
            .insert(name.to_owned(), remote.clone());
        Ok(remote)
    }

    /// Says on stderr what the remotes' plugins told the user while the
    /// command ran (names an overlay skipped), each once, naming the
    /// remote.
    pub fn report_notices(&self) {
        let mut remotes: Vec<(String, Arc<Remote>)> = self
            .remotes
            .lock()
            .unwrap()
            .iter()
            .map(|(name, remote)| (name.clone(), remote.clone()))
            .collect();
        remotes.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, remote) in remotes {
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
        let mut remotes: Vec<String> = self
            .remotes
            .lock()
            .unwrap()
            .iter()
            .map(|(name, remote)| format!("{name}={}", remote.instances_started()))
            .collect();
        remotes.sort();
        eprintln!(
            "wharf: debug: plugin loads: {}; instances started: {}",
            loads.join(" "),
            remotes.join(" ")
        );
    }

    /// Loads the plugin of remote `name` and configures a remote of its
    /// own for the caller, saying once what the user should know of it.
    /// An overlay's remote is put on the remote its `remote` option names,
    /// opened (once, and shared) the same way.
    pub async fn open_remote(&self, name: &str) -> Result<Remote> {
        self.open_in_chain(name, Vec::new()).await
    }

    /// The remote an overlay named `owner` sits on, as `spec` names it.
    pub async fn open_below(
        &self,
        owner: &str,
        spec: &wharf::config::BelowSpec,
    ) -> Result<wharf::overlay::Below> {
        self.below_in_chain(owner, spec, Vec::new()).await
    }

    async fn below_in_chain(
        &self,
        name: &str,
        spec: &wharf::config::BelowSpec,
        mut above: Vec<String>,
    ) -> Result<wharf::overlay::Below> {
        match spec {
            wharf::config::BelowSpec::Directory(path) => {
                // rclone's `remote = /path`: an fs remote of its own.
                let fs = self.catalog.runtime().load_bundled("fs").await?;
                let local = wharf::Remote::new(
                    &format!("{name}-below"),
                    fs,
                    vec![("root".into(), path.display().to_string())],
                    wharf::Limits::default(),
                )?;
                Ok(wharf::overlay::Below {
                    remote: Arc::new(local),
                    prefix: String::new(),
                })
            }
            wharf::config::BelowSpec::Remote {
                remote: below,
                prefix,
            } => {
                above.push(name.to_owned());
                if above.contains(below) {
                    return Err(wharf::Error::new(
                        wharf::ErrorKind::InvalidConfig,
                        format!(
                            "remote '{name}': the remotes sit on each other in a circle ({} -> \
                             {below}); an overlay's `remote` must lead to a remote that stores \
                             its objects itself",
                            above.join(" -> "),
                        ),
                    )
                    .into());
                }
                let cached = self.remotes.lock().unwrap().get(below).cloned();
                let remote = match cached {
                    Some(remote) => remote,
                    None => {
                        let opened = Arc::new(self.open_in_chain(below, above).await?);
                        self.remotes
                            .lock()
                            .unwrap()
                            .entry(below.clone())
                            .or_insert(opened)
                            .clone()
                    }
                };
                Ok(wharf::overlay::Below {
                    remote,
                    prefix: prefix.clone(),
                })
            }
        }
    }

    fn open_in_chain<'a>(
        &'a self,
        name: &'a str,
        above: Vec<String>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Remote>> + Send + 'a>> {
        Box::pin(async move {
            let spec = self.config.remote(name)?;
            if spec.host.tls.skip_verify {
                eprintln!(
                    "wharf: WARNING: remote '{name}' has tls_insecure_skip_verify = true: its \
                     server's certificate is not checked, so anyone on the way can read and \
                     change what it sends; trust the server's CA with tls_ca_file instead"
                );
            }
            let below = match &spec.host.below {
                None => None,
                Some(below) => Some(self.below_in_chain(name, below, above).await?),
            };
            let remote = self.catalog.open_over(&spec, below).await?;
            for note in remote.notes() {
                eprintln!("wharf: note: remote '{name}': {}", wharf::printable(note));
            }
            Ok(remote)
        })
    }
}
