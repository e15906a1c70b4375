//! The local fake of the Dropbox API (`tests/servers/dropbox/`): Dropbox
//! itself cannot be reached from the test machines. Its faithfulness is
//! checked by the official Dropbox SDK (`sdk_scenario.py`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{free_port, Server, TestCerts};

/// The app key the fake knows.
pub const APP_KEY: &str = "wharf-test-app";
/// The app secret the fake knows.
pub const APP_SECRET: &str = "wharf-test-secret";
/// The refresh token the fake honours.
pub const REFRESH_TOKEN: &str = "wharf-test-refresh-token";
/// The authorization code the fake exchanges for [`REFRESH_TOKEN`].
pub const AUTH_CODE: &str = "wharf-test-auth-code";

/// The fake Dropbox, serving its API and content hosts over HTTPS with a
/// test certificate, and a plain-HTTP control port for the tests.
pub struct DropboxFake {
    /// The process (listening on the content port).
    pub server: Server,
    /// The API host's port (`https://127.0.0.1:PORT`).
    pub api_port: u16,
    /// The content host's port.
    pub content_port: u16,
    /// The control port (plain HTTP: `/fail`, `/expire_tokens`, `/stats`).
    pub control_port: u16,
    /// The certificates; clients must trust `certs.ca`.
    pub certs: TestCerts,
    /// Where the fake keeps file contents.
    pub data: PathBuf,
}

/// Where the fake and its scripts live.
pub fn dropbox_scripts() -> PathBuf {
    crate::servers_dir().join("dropbox")
}

/// Where `tests/servers/dropbox/install.sh` puts the official SDK.
pub fn dropbox_tools() -> PathBuf {
    std::env::var_os("DROPBOX_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/dropbox-test-tools"))
}

impl DropboxFake {
    /// Starts the fake with fresh certificates and data under `work`.
    pub fn start(work: &Path) -> DropboxFake {
        Self::start_with(work, 14_400)
    }

    /// [`DropboxFake::start`] with access tokens that expire after
    /// `token_lifetime` seconds.
    pub fn start_with(work: &Path, token_lifetime: u32) -> DropboxFake {
        let certs = TestCerts::generate(&work.join("certs"));
        let data = work.join("dropbox-data");
        std::fs::create_dir_all(&data).unwrap();
        let (api_port, content_port, control_port) = (free_port(), free_port(), free_port());
        let mut command = Command::new("python3");
        command
            .arg("-u")
            .arg(dropbox_scripts().join("fake_dropbox.py"))
            .args(["--api-port", &api_port.to_string()])
            .args(["--content-port", &content_port.to_string()])
            .args(["--control-port", &control_port.to_string()])
            .arg("--cert")
            .arg(&certs.cert)
            .arg("--key")
            .arg(&certs.key)
            .arg("--data")
            .arg(&data)
            .args(["--app-key", APP_KEY, "--app-secret", APP_SECRET])
            .args(["--refresh-token", REFRESH_TOKEN, "--auth-code", AUTH_CODE])
            .args(["--access-token-lifetime", &token_lifetime.to_string()]);
        // The control port is bound last: when it answers, all three do.
        let server = Server::start("fake Dropbox", command, control_port);
        DropboxFake {
            server,
            api_port,
            content_port,
            control_port,
            certs,
            data,
        }
    }

    /// `https://127.0.0.1:PORT` of the API host.
    pub fn api_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.api_port)
    }

    /// `https://127.0.0.1:PORT` of the content host.
    pub fn content_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.content_port)
    }

    /// The Dropbox plugin's options for this fake (the CA must be trusted
    /// too: `tls_ca_file` = `certs.ca`).
    pub fn options(&self) -> Vec<(String, String)> {
        vec![
            ("app_key".into(), APP_KEY.into()),
            ("app_secret".into(), APP_SECRET.into()),
            ("refresh_token".into(), REFRESH_TOKEN.into()),
            ("api_url".into(), self.api_url()),
            ("content_url".into(), self.content_url()),
        ]
    }

    /// Sends `method path` with a JSON `body` to the control port and
    /// returns the answer's body; panics unless it is a 200.
    pub fn control(&self, method: &str, path: &str, body: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.control_port))
            .expect("the fake Dropbox's control port does not answer");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        assert!(
            head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
            "the fake Dropbox refused {method} {path}: {head}"
        );
        body.to_owned()
    }

    /// Makes the next `count` calls to `endpoint` (`/2/files/upload`) fail
    /// with HTTP `status` (429: `reason` and `Retry-After: retry_after`).
    pub fn fail(&self, endpoint: &str, count: u32, status: u16, reason: &str, retry_after: u32) {
        let reason = if reason.is_empty() {
            String::new()
        } else {
            format!(r#", "reason": "{reason}""#)
        };
        self.control(
            "POST",
            "/fail",
            &format!(
                r#"{{"endpoint": "{endpoint}", "count": {count}, "status": {status}, "retry_after": {retry_after}{reason}}}"#
            ),
        );
    }

    /// Expires every access token issued so far.
    pub fn expire_tokens(&self) {
        self.control("POST", "/expire_tokens", "{}");
    }

    /// The fake's counters as JSON text (`calls`, `tokens_issued`, …).
    pub fn stats(&self) -> String {
        self.control("GET", "/stats", "")
    }

    /// How many times `endpoint` was called, from [`DropboxFake::stats`].
    pub fn calls(&self, endpoint: &str) -> u64 {
        number_after(&self.stats(), &format!("\"{endpoint}\":"))
    }

    /// Makes every API call wait `seconds` before it is answered, as over
    /// a far link (0 turns it off).
    pub fn set_latency(&self, seconds: f64) {
        self.control("POST", "/latency", &format!(r#"{{"seconds": {seconds}}}"#));
    }

    /// How many connections the fake's `host` (`api` or `content`) has
    /// accepted, from [`DropboxFake::stats`].
    pub fn connections(&self, host: &str) -> u64 {
        let stats = self.stats();
        let Some(at) = stats.find("\"connections\":") else {
            panic!("the fake's stats do not count connections: {stats}");
        };
        number_after(&stats[at..], &format!("\"{host}\":"))
    }

    /// How many files the account holds.
    pub fn files(&self) -> u64 {
        let stats = self.stats();
        assert!(
            stats.contains("\"files\":"),
            "the fake's stats do not count files: {stats}"
        );
        number_after(&stats, "\"files\":")
    }

    /// How many access tokens the fake has issued.
    pub fn tokens_issued(&self) -> u64 {
        number_after(&self.stats(), "\"tokens_issued\":")
    }
}

/// The number that follows `label` in `json` (0 if it is absent): enough
/// JSON reading for the fake's flat counters without a JSON dependency.
fn number_after(json: &str, label: &str) -> u64 {
    let Some(start) = json.find(label) else {
        return 0;
    };
    json[start + label.len()..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}
