//! The fs plugin's options, declared once.

use wharf_plugin::{OptionSpec, Options, Result};

/// The option that names the directory; the host grants exactly it.
pub const ROOT: &str = "root";

/// How an fs remote is configured.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FsConfig {
    /// The directory as the plugin sees it: the host preopens the user's
    /// directory at `/root` and passes that path in.
    pub root: String,
}

impl FsConfig {
    /// Every option the fs plugin accepts, with its help.
    pub fn options() -> Vec<OptionSpec> {
        vec![OptionSpec {
            name: ROOT.into(),
            help: "The local directory that holds the objects, e.g. ./media or /srv/backups. \
                   It is created on the first write. The plugin can reach nothing outside it."
                .into(),
            required: true,
            secret: false,
            default: None,
        }]
    }

    /// Reads the configuration from checked options.
    pub fn from_options(options: &Options) -> Result<Self> {
        Ok(FsConfig {
            root: options.required(ROOT)?.to_owned(),
        })
    }
}
