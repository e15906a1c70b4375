//! The fs plugin's options, declared once.

use wharf_plugin::{Error, OptionSpec, Options, Result};

use crate::core::STAGING_DIR;

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

/// What the fs plugin reserves beyond the contract's key rules: its
/// staging directory, where writes in progress go.
pub fn check_key(key: &str) -> Result<()> {
    if key == STAGING_DIR || key.starts_with(&format!("{STAGING_DIR}/")) {
        return Err(Error::invalid_key(format!(
            "key {key:?} is under {STAGING_DIR}/, which the fs plugin reserves for writes in \
             progress; choose another key"
        )));
    }
    Ok(())
}
