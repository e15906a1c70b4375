//! The Dropbox plugin's options, declared once, and how keys become
//! Dropbox paths.

use wharf_plugin::{
    option as spec, AliasMeaning, Error, OauthFlow, OptionAlias, OptionSpec, Options, Result,
};

/// Dropbox's RPC host (metadata, listing, OAuth).
pub const API_URL: &str = "https://api.dropboxapi.com";
/// Dropbox's content host (uploads and downloads).
pub const CONTENT_URL: &str = "https://content.dropboxapi.com";

/// Upload session chunks must be multiples of this (Dropbox's block size,
/// also the unit of its content hash).
pub const BLOCK: usize = 4 << 20;
/// `files/upload` takes at most 150 MiB; the largest chunk that is a whole
/// number of blocks below it.
pub const MAX_CHUNK: usize = 148 << 20;
const DEFAULT_CHUNK: usize = 8 << 20;

/// A host to send requests to: `https` and `host[:port]`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub scheme: String,
    pub authority: String,
}

impl Endpoint {
    fn parse(option: &str, url: &str) -> Result<Endpoint> {
        let bad = |why: &str| {
            Error::invalid_config(format!(
                "option '{option}' = '{url}' {why}; give a URL such as https://api.dropboxapi.com"
            ))
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("has no scheme"))?;
        if scheme != "https" && scheme != "http" {
            return Err(bad("must start with https:// (or http://)"));
        }
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(bad("must be a bare host without a path"));
        }
        Ok(Endpoint {
            scheme: scheme.to_owned(),
            authority: authority.to_owned(),
        })
    }
}

/// Everything a store needs, parsed and checked.
#[derive(Debug, Clone)]
pub struct DropboxConfig {
    pub app_key: Option<String>,
    pub app_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub access_token: Option<String>,
    /// The folder that holds the keys: empty for the whole Dropbox, else
    /// `/name` with no trailing slash.
    pub root: String,
    /// Objects up to this size go in one `files/upload`; larger ones in an
    /// upload session of chunks this size, one chunk in memory at a time.
    pub chunk_size: usize,
    pub api: Endpoint,
    pub content: Endpoint,
}

impl DropboxConfig {
    /// The names other tools give these options: django-storages'
    /// Dropbox storage and rclone's Dropbox backend.
    pub fn aliases() -> Vec<OptionAlias> {
        let alias = |name: &str, origin: &str, meaning| OptionAlias {
            name: name.into(),
            origin: origin.into(),
            meaning,
        };
        let same = |option: &str| AliasMeaning::SameAs(option.into());
        vec![
            alias(
                "oauth2_access_token",
                "django-storages",
                same("access_token"),
            ),
            alias(
                "oauth2_refresh_token",
                "django-storages",
                same("refresh_token"),
            ),
            alias(
                "timeout",
                "django-storages",
                AliasMeaning::Ignored(
                    "the Dropbox SDK's request timeout; Wharf bounds each call itself \
                     (call_timeout_secs)"
                        .into(),
                ),
            ),
            alias(
                "write_mode",
                "django-storages",
                AliasMeaning::Ignored(
                    "how django-storages' Dropbox storage writes; Wharf always replaces the \
                     object at a key, atomically"
                        .into(),
                ),
            ),
            alias("client_id", "rclone", same("app_key")),
            alias("client_secret", "rclone", same("app_secret")),
        ]
    }

    /// How `wharf authorize dropbox` connects an account: Dropbox's OAuth 2
    /// code flow, asking for a refresh token (`token_access_type=offline`);
    /// PKCE when the user gives no app secret.
    pub fn oauth_flow() -> OauthFlow {
        OauthFlow {
            service: "Dropbox".into(),
            authorize_url: "https://www.dropbox.com/oauth2/authorize".into(),
            token_url: "{api_url}/oauth2/token".into(),
            authorize_parameters: vec![("token_access_type".into(), "offline".into())],
            client_id_option: "app_key".into(),
            client_secret_option: Some("app_secret".into()),
            refresh_token_option: "refresh_token".into(),
            console_url: "https://www.dropbox.com/developers/apps (then Settings → App key)".into(),
        }
    }

    /// The options, for `info`.
    #[rustfmt::skip]
    pub fn options() -> Vec<OptionSpec> {
        vec![
            spec("app_key", "The app key of your Dropbox app (App Console → your app → Settings). Needed to refresh tokens.", false, false, None),
            spec("app_secret", "The app secret of your Dropbox app. Not needed for a refresh token obtained with PKCE.", false, true, None),
            spec("refresh_token", "A long-lived refresh token; `wharf authorize dropbox` obtains one and stores it here.", false, true, None),
            spec("access_token", "A short-lived access token (4 hours), used as is; without a refresh token the remote stops working when it expires.", false, true, None),
            spec("root_path", "The Dropbox folder that holds the keys, e.g. /media; / for the whole Dropbox (or the app folder of an app-folder app).", false, false, Some("/")),
            spec("chunk_size", "Bytes per upload-session chunk, a multiple of 4 MiB up to 148 MiB; objects up to this size go in one call. An upload holds one chunk in memory.", false, false, Some("8388608")),
            spec("api_url", "The Dropbox API host (tests point it at a local server).", false, false, Some(API_URL)),
            spec("content_url", "The Dropbox content host for uploads and downloads (tests point it at a local server).", false, false, Some(CONTENT_URL)),
        ]
    }

    pub fn from_options(options: &Options) -> Result<DropboxConfig> {
        let text = |name: &str| {
            options
                .get(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let config = DropboxConfig {
            app_key: text("app_key"),
            app_secret: text("app_secret"),
            refresh_token: text("refresh_token"),
            access_token: text("access_token"),
            root: root_path(options.get("root_path").unwrap_or("/"))?,
            chunk_size: options.parse("chunk_size")?.unwrap_or(DEFAULT_CHUNK),
            api: Endpoint::parse("api_url", options.get("api_url").unwrap_or(API_URL))?,
            content: Endpoint::parse(
                "content_url",
                options.get("content_url").unwrap_or(CONTENT_URL),
            )?,
        };
        if config.chunk_size == 0
            || !config.chunk_size.is_multiple_of(BLOCK)
            || config.chunk_size > MAX_CHUNK
        {
            return Err(Error::invalid_config(format!(
                "option 'chunk_size' = {} must be a multiple of 4 MiB (4194304) up to 148 MiB (155189248)",
                config.chunk_size
            )));
        }
        match (&config.refresh_token, &config.access_token, &config.app_key) {
            (Some(_), _, None) => Err(Error::invalid_config(
                "option 'refresh_token' needs 'app_key' (and 'app_secret' unless the token came from PKCE): a refresh token is tied to its app",
            )),
            (None, None, _) => Err(Error::invalid_config(
                "no credentials: set 'refresh_token' (run `wharf authorize dropbox` to get one) or 'access_token'",
            )),
            _ => Ok(config),
        }
    }

    /// The Dropbox path of `key` (already checked against the key rules).
    pub fn path(&self, key: &str) -> String {
        format!("{}/{key}", self.root)
    }

    /// The Dropbox path of the folder `dir` (a key prefix without its
    /// trailing slash; empty for the root), as `list_folder` wants it.
    pub fn folder(&self, dir: &str) -> String {
        if dir.is_empty() {
            self.root.clone()
        } else {
            self.path(dir)
        }
    }
}

fn root_path(given: &str) -> Result<String> {
    let trimmed = given.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(Error::invalid_config(format!(
            "option 'root_path' = '{given}' has an empty, '.' or '..' segment; give a folder such as /media"
        )));
    }
    Ok(format!("/{trimmed}"))
}

/// What Dropbox refuses in a name that the key rules allow: a backslash,
/// DEL, a segment ending in a space, or one over 255 characters. Refused
/// before any call, so the error says which rule.
pub fn check_key(key: &str) -> Result<()> {
    for segment in key.split('/') {
        let why = if segment.contains('\\') {
            "a backslash"
        } else if segment.contains('\u{7f}') {
            "the DEL character"
        } else if segment.ends_with(' ') {
            "a segment ending in a space"
        } else if segment.chars().count() > 255 {
            "a segment longer than 255 characters"
        } else {
            continue;
        };
        return Err(Error::invalid_key(format!(
            "key {key:?} has {why}, which Dropbox does not allow in file names"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_paths_are_normalised() {
        assert_eq!(root_path("/").unwrap(), "");
        assert_eq!(root_path("media/").unwrap(), "/media");
        assert_eq!(root_path("/a/b").unwrap(), "/a/b");
        assert!(root_path("/a/../b").is_err());
    }

    #[test]
    fn dropbox_name_rules() {
        assert!(check_key("a/b c.txt").is_ok());
        assert!(check_key("a\\b").is_err());
        assert!(check_key("a /b").is_err());
        assert!(check_key(&"x".repeat(256)).is_err());
    }
}
