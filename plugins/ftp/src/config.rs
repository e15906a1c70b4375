//! The FTP plugin's options, declared once.

use std::time::Duration;

use wharf_plugin::{option as spec, Error, OptionSpec, Options, Result};

use crate::error::{FtpError, FtpResult};
use crate::TEMP_PREFIX;

/// How the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain FTP: credentials and data in the clear.
    None,
    /// FTPES: plain connect, then `AUTH TLS` (RFC 4217), data protected too.
    Explicit,
    /// FTPS: TLS from the first byte (port 990 by custom).
    Implicit,
}

/// How an FTP remote is configured.
#[derive(Debug, Clone)]
pub struct FtpConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The directory objects live under; empty for the login directory.
    pub root: String,
    pub tls: TlsMode,
    /// The most connections open at once.
    pub concurrency: usize,
    /// How long any one wait on the server may take.
    pub timeout: Duration,
}

impl FtpConfig {
    /// Every option the FTP plugin accepts, with its help.
    pub fn options() -> Vec<OptionSpec> {
        vec![
            spec("host", "The FTP server's host name or IP address, e.g. ftp.example.com.", true, false, None),
            spec("port", "The control connection's port: 21 for plain FTP and explicit TLS, usually 990 for implicit TLS.", false, false, None),
            spec("user", "The user to log in as.", false, false, Some("anonymous")),
            spec("password", "The user's password.", false, true, Some("")),
            spec("root", "The directory on the server that holds the objects, e.g. /backups. Empty: the login directory.", false, false, Some("")),
            spec("tls", "none, explicit (AUTH TLS on the plain port, then encrypted control and data) or implicit (TLS from the first byte). The host checks the server's certificate; trust a private CA with the remote's tls_ca_file.", false, false, Some("none")),
            spec("concurrency", "The most connections to the server at once (each transfer uses one); an operation that needs one more fails.", false, false, Some("8")),
            spec("timeout", "Seconds any one wait on the server may take before the operation fails.", false, false, Some("60")),
        ]
    }

    /// Reads and checks the configuration.
    pub fn from_options(options: &Options) -> Result<Self> {
        let tls = match options
            .get("tls")
            .unwrap_or("none")
            .to_ascii_lowercase()
            .as_str()
        {
            "" | "none" | "false" | "off" => TlsMode::None,
            "explicit" => TlsMode::Explicit,
            "implicit" => TlsMode::Implicit,
            other => {
                return Err(Error::invalid_config(format!(
                    "option 'tls' = '{other}' is not one of none, explicit, implicit"
                )))
            }
        };
        let default_port = if tls == TlsMode::Implicit { 990 } else { 21 };
        let port = options
            .parse::<u16>("port")?
            .filter(|p| *p != 0)
            .unwrap_or(default_port);
        let host = options.required("host")?.trim().to_owned();
        if host.is_empty() || host.contains(['/', ' ', ':']) && !host.starts_with('[') {
            return Err(Error::invalid_config(format!(
                "option 'host' = '{host}' is not a host name or IP address (give the port in 'port')"
            )));
        }
        let root = options.get("root").unwrap_or("").trim_end_matches('/');
        if root.contains(['\r', '\n']) {
            return Err(Error::invalid_config(
                "option 'root' cannot hold a line break",
            ));
        }
        let timeout: u64 = options.parse("timeout")?.unwrap_or(60);
        if timeout == 0 {
            return Err(Error::invalid_config(
                "option 'timeout' must be at least 1 second",
            ));
        }
        Ok(FtpConfig {
            host,
            port,
            user: options.get("user").unwrap_or("anonymous").to_owned(),
            password: options.get("password").unwrap_or("").to_owned(),
            root: root.to_owned(),
            tls,
            concurrency: options.parse("concurrency")?.unwrap_or(8).max(1),
            timeout: Duration::from_secs(timeout),
        })
    }

    /// `host:port`, for messages.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// What an FTP server cannot store, beyond the contract's key rules.
pub(crate) fn check_key(key: &str) -> FtpResult<()> {
    if key.contains(['\r', '\n']) {
        return Err(FtpError::InvalidKey {
            key: key.to_owned(),
            why: "FTP commands are lines of text, so a key cannot hold a line break".into(),
        });
    }
    if key
        .split('/')
        .any(|segment| segment.starts_with(TEMP_PREFIX))
    {
        return Err(FtpError::InvalidKey {
            key: key.to_owned(),
            why: format!("names starting with {TEMP_PREFIX} are where uploads in progress go"),
        });
    }
    Ok(())
}
