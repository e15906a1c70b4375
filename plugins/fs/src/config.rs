//! The fs plugin's options, declared once.

use wharf_plugin::{Error, OptionSpec, Options, Result};

use crate::core::{STAGING_DIR, TEMP_PREFIX};

/// The option that names the directory; the host grants exactly it.
pub const ROOT: &str = "root";

/// How an fs remote is configured.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FsConfig {
    /// The directory as the plugin sees it: the host preopens the user's
    /// directory at `/root` and passes that path in.
    pub root: String,
    /// The URL a web server publishes the directory under, ending in `/`.
    pub base_url: Option<String>,
}

/// The option that makes URLs for objects.
pub const BASE_URL: &str = "base_url";

impl FsConfig {
    /// Every option the fs plugin accepts, with its help.
    pub fn options() -> Vec<OptionSpec> {
        vec![
            OptionSpec {
                name: ROOT.into(),
                help: "The local directory that holds the objects, e.g. ./media or /srv/backups. \
                   It is created on the first write. The plugin can reach nothing outside it."
                    .into(),
                required: true,
                secret: false,
                default: None,
            },
            OptionSpec {
                name: BASE_URL.into(),
                help: "The URL under which a web server publishes this directory, e.g. \
                   https://media.example.com/ or /media/ (Django's MEDIA_URL). With it, the \
                   store gives each object's URL (a public address that does not expire); \
                   without it, it makes no URLs."
                    .into(),
                required: false,
                secret: false,
                default: None,
            },
        ]
    }

    /// Reads the configuration from checked options.
    pub fn from_options(options: &Options) -> Result<Self> {
        let base_url = options
            .get(BASE_URL)
            .map(str::trim)
            .filter(|u| !u.is_empty());
        if let Some(url) = base_url {
            let scheme = url.split_once("://").map(|(scheme, _)| scheme);
            if !url.starts_with('/') && !matches!(scheme, Some("http" | "https")) {
                return Err(Error::invalid_config(format!(
                    "option '{BASE_URL}' = {url:?} is neither an http(s) URL nor a path from \
                     the site's root (such as /media/)"
                )));
            }
        }
        Ok(FsConfig {
            root: options.required(ROOT)?.to_owned(),
            base_url: base_url.map(|url| {
                if url.ends_with('/') {
                    url.to_owned()
                } else {
                    format!("{url}/")
                }
            }),
        })
    }
}

/// What the fs plugin reserves beyond the contract's key rules: the names
/// of writes in progress (`.wharf-tmp-…` in any directory), and the
/// staging directory of earlier versions (`.wharf-tmp/` in the root).
pub fn check_key(key: &str) -> Result<()> {
    if key == STAGING_DIR || key.starts_with(&format!("{STAGING_DIR}/")) {
        return Err(Error::invalid_key(format!(
            "key {key:?} is under {STAGING_DIR}/, which the fs plugin reserves for writes in \
             progress; choose another key"
        )));
    }
    if key
        .split('/')
        .any(|segment| segment.starts_with(TEMP_PREFIX))
    {
        return Err(Error::invalid_key(format!(
            "key {key:?} has a name that starts with {TEMP_PREFIX}, which the fs plugin \
             reserves for writes in progress; choose another name"
        )));
    }
    Ok(())
}
