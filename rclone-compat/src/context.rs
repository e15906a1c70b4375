//! What every command needs: the remotes of the rclone.conf (and of
//! Wharf's own config beside it), opened once each, and where each
//! argument points.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::OnceCell;
use wharf::config::{Config, RemoteSpec};
use wharf::{Catalog, Remote, Remotes, Runtime};
use wharf_rclone_conf::RcloneConf;
use wharf_transfer::{BandwidthLimit, Endpoint, Location};

use crate::args::Args;
use crate::fail::{self, Failure};

/// One run's remotes and settings.
pub struct Context<'a> {
    pub args: &'a Args,
    pub remotes: Remotes,
    /// The rclone.conf in use (possibly none on disk), for `config file`.
    pub rclone_path: Option<PathBuf>,
    /// `--bwlimit`, shared by everything the command moves.
    pub bandwidth: Option<Arc<BandwidthLimit>>,
    /// Local paths as objects: one fs remote rooted at `/`, as rclone's
    /// local backend reaches the whole file system, made on first use.
    local: OnceCell<Arc<Remote>>,
}

/// What an argument names.
pub enum Place {
    /// A path on this machine.
    Local(PathBuf),
    /// A key (or directory) on a remote.
    Remote { remote: Arc<Remote>, key: String },
}

impl<'a> Context<'a> {
    pub fn new(args: &'a Args) -> Result<Self, Failure> {
        let config_error = |e: String| Failure::new(1, e);
        let mut rclone = match RcloneConf::load(args.config.as_deref()).map_err(config_error)? {
            Some(conf) => conf,
            None => RcloneConf::default().with_vars(std::env::vars().collect()),
        };
        for (kind, key, value) in &args.backend {
            rclone.set_flag(kind, key, value).map_err(Failure::usage)?;
        }
        for file in &args.ca_cert {
            rclone.add_ca_cert(file);
        }
        let rclone_path = args.config.clone().or_else(wharf_rclone_conf::default_path);
        if args.verbose > 0 && args.config.is_none() && rclone.path().is_none() {
            if let Some(path) = &rclone_path {
                fail::log(
                    "NOTICE",
                    &format!(
                        "Config file \"{}\" not found - using defaults",
                        path.display()
                    ),
                );
            }
        }
        let config = Config::load(None)?.with_rclone(rclone);
        let mut catalog = Catalog::new(Runtime::new()?);
        if let Some(path) = Config::default_path(None) {
            catalog = catalog.with_config(&path);
        }
        let verbose = args.verbose;
        let notes: wharf::NoteSink = Arc::new(move |remote: &str, note: &str| {
            if verbose > 0 {
                fail::log("INFO", &format!("{remote}: {note}"));
            }
        });
        Ok(Context {
            args,
            remotes: Remotes::new(config, catalog, notes),
            rclone_path,
            bandwidth: args
                .bwlimit
                .clone()
                .map(|table| Arc::new(BandwidthLimit::new(table))),
            local: OnceCell::new(),
        })
    }

    /// Where `arg` points: `remote:path` in rclone's syntax, or a local
    /// path.
    pub async fn place(&self, arg: &str) -> Result<Place, Failure> {
        match Location::parse(arg) {
            Location::Local(path) => Ok(Place::Local(path)),
            Location::Remote { remote, key } => {
                let (remote, key) = self.remotes.locate(&remote, &key).await.map_err(|e| {
                    Failure::new(
                        1,
                        format!(
                            "Failed to create file system for \"{arg}\": {}",
                            e.message()
                        ),
                    )
                })?;
                Ok(Place::Remote {
                    remote,
                    key: key.trim_end_matches('/').to_owned(),
                })
            }
        }
    }

    /// Where `arg` points, as a remote and key: a local path is a key on
    /// the local remote.
    pub async fn object(&self, arg: &str) -> Result<(Arc<Remote>, String), Failure> {
        match self.place(arg).await? {
            Place::Remote { remote, key } => Ok((remote, key)),
            Place::Local(path) => {
                let absolute = if path.is_absolute() {
                    path
                } else {
                    std::env::current_dir()?.join(path)
                };
                let key = absolute
                    .to_string_lossy()
                    .trim_start_matches('/')
                    .trim_end_matches('/')
                    .to_owned();
                Ok((self.local().await?, key))
            }
        }
    }

    async fn local(&self) -> Result<Arc<Remote>, Failure> {
        let remote = self
            .local
            .get_or_try_init(|| async {
                let spec =
                    RemoteSpec::inline("local", "fs", [("root".to_owned(), "/".to_owned())])?;
                Ok::<_, wharf::Error>(Arc::new(self.remotes.open_spec(spec).await?))
            })
            .await?;
        Ok(remote.clone())
    }

    /// The transfer endpoint `arg` names.
    pub async fn endpoint(&self, arg: &str) -> Result<Endpoint, Failure> {
        Ok(match self.place(arg).await? {
            Place::Local(path) => Endpoint::local(path),
            Place::Remote { remote, key } => Endpoint::remote(remote, key),
        })
    }

    /// The rclone.conf path to show.
    pub fn rclone_path(&self) -> Option<&Path> {
        self.rclone_path.as_deref()
    }
}
