//! Remotes by name, as every front end opens them: from the configuration,
//! each opened once and shared, an overlay put on the remote its `remote`
//! option names (to any depth), what the user should know of each said
//! once through the front end's own channel.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crate::config::{BelowSpec, Config, RemoteSpec};
use crate::overlay::Below;
use crate::{Catalog, Error, ErrorKind, Limits, Remote, Result, Runtime};

/// Where a front end hears what it should tell its user about a remote:
/// `(remote, text)`. The CLI prints it; the Python package warns.
pub type NoteSink = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// The remotes of one configuration, each opened on first use and shared
/// after: its plugin loaded once, its instances serving every caller.
pub struct Remotes {
    config: Config,
    catalog: Catalog,
    opened: Mutex<HashMap<String, Arc<Remote>>>,
    notes: NoteSink,
}

type Opening<'a> = Pin<Box<dyn Future<Output = Result<Remote>> + Send + 'a>>;

impl Remotes {
    /// The remotes of `config`, their plugins found by `catalog`; what the
    /// user should know goes to `notes`.
    pub fn new(config: Config, catalog: Catalog, notes: NoteSink) -> Self {
        Remotes {
            config,
            catalog,
            opened: Mutex::new(HashMap::new()),
            notes,
        }
    }

    /// The user's configuration (`explicit`, else `$WHARF_CONFIG`, else the
    /// default file) with the default plugin path and a new runtime.
    pub fn load(explicit: Option<&Path>, notes: NoteSink) -> Result<Self> {
        let config = Config::load(explicit)?.with_default_rclone();
        let mut catalog = Catalog::new(Runtime::new()?);
        if let Some(path) = Config::default_path(explicit) {
            catalog = catalog.with_config(&path);
        }
        Ok(Remotes::new(config, catalog, notes))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The plugin catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Remote `name`, opened on first use and shared after.
    pub async fn get(&self, name: &str) -> Result<Arc<Remote>> {
        if let Some(remote) = self.opened.lock().unwrap().get(name) {
            return Ok(remote.clone());
        }
        self.shared(self.config.remote(name)?, Vec::new()).await
    }

    /// Where `path` on remote `name` leads, in rclone's path syntax (an
    /// rclone S3 remote's path names its bucket first): the remote, opened
    /// on first use and shared after, and the key on it.
    pub async fn locate(&self, name: &str, path: &str) -> Result<(Arc<Remote>, String)> {
        let (spec, key) = self.config.locate(name, path)?;
        Ok((self.shared(spec, Vec::new()).await?, key))
    }

    /// The remote `spec` describes, opened once under its name and shared.
    async fn shared(&self, spec: RemoteSpec, above: Vec<String>) -> Result<Arc<Remote>> {
        if let Some(remote) = self.opened.lock().unwrap().get(&spec.name) {
            return Ok(remote.clone());
        }
        let name = spec.name.clone();
        let opened = Arc::new(self.open_in_chain(spec, above).await?);
        Ok(self
            .opened
            .lock()
            .unwrap()
            .entry(name)
            .or_insert(opened)
            .clone())
    }

    /// Every remote opened so far (those below overlays included), by name.
    pub fn opened(&self) -> Vec<(String, Arc<Remote>)> {
        let mut all: Vec<_> = self
            .opened
            .lock()
            .unwrap()
            .iter()
            .map(|(name, remote)| (name.clone(), remote.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Remote `name` from the configuration, opened afresh for the caller
    /// (the remotes below it shared).
    pub async fn open(&self, name: &str) -> Result<Remote> {
        let spec = self.config.remote(name)?;
        self.open_in_chain(spec, Vec::new()).await
    }

    /// A remote given whole (see [`RemoteSpec::inline`]); an overlay's
    /// `remote` names a remote of the configuration.
    pub async fn open_spec(&self, spec: RemoteSpec) -> Result<Remote> {
        self.open_in_chain(spec, Vec::new()).await
    }

    /// The remote an overlay named `owner` sits on, as `spec` names it.
    pub async fn below(&self, owner: &str, spec: &BelowSpec) -> Result<Below> {
        self.below_in_chain(owner, spec, Vec::new()).await
    }

    async fn below_in_chain(
        &self,
        name: &str,
        spec: &BelowSpec,
        mut above: Vec<String>,
    ) -> Result<Below> {
        match spec {
            BelowSpec::Directory(path) => {
                // rclone's `remote = /path`: an fs remote of its own.
                let fs = self.catalog.runtime().load_bundled("fs").await?;
                let local = Remote::new(
                    &format!("{name}-below"),
                    fs,
                    vec![("root".into(), path.display().to_string())],
                    Limits::default(),
                )?;
                Ok(Below {
                    remote: Arc::new(local),
                    prefix: String::new(),
                })
            }
            BelowSpec::Remote {
                remote: below,
                prefix,
            } => {
                above.push(name.to_owned());
                if above.contains(below) {
                    return Err(Error::new(
                        ErrorKind::InvalidConfig,
                        format!(
                            "remote '{name}': the remotes sit on each other in a circle ({} -> \
                             {below}); an overlay's `remote` must lead to a remote that stores \
                             its objects itself",
                            above.join(" -> "),
                        ),
                    ));
                }
                let (spec, key) = self.config.locate(below, prefix)?;
                let remote = self.shared(spec, above).await?;
                Ok(Below {
                    remote,
                    prefix: key.trim_matches('/').to_owned(),
                })
            }
        }
    }

    fn open_in_chain(&self, spec: RemoteSpec, above: Vec<String>) -> Opening<'_> {
        Box::pin(async move {
            let name = spec.name.clone();
            if spec.host.tls.skip_verify {
                (self.notes)(
                    &name,
                    "WARNING: tls_insecure_skip_verify = true: its server's certificate is not \
                     checked, so anyone on the way can read and change what it sends; trust the \
                     server's CA with tls_ca_file instead",
                );
            }
            let below = match &spec.host.below {
                None => None,
                Some(below) => Some(self.below_in_chain(&name, below, above).await?),
            };
            let remote = self.catalog.open_over(&spec, below).await?;
            for note in spec.notes.iter().chain(remote.notes()) {
                (self.notes)(&name, note);
            }
            Ok(remote)
        })
    }
}
