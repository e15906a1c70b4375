//! The control connection (RFC 959 replies, login, FEAT, TLS) and the
//! passive-mode data connections it opens, with the bounce check.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use wharf_plugin::net::Connection;

use crate::config::{FtpConfig, TlsMode};
use crate::error::{FtpError, FtpResult, Reply};

/// What the server said it supports (FEAT, RFC 2389).
#[derive(Debug, Clone, Default)]
pub struct Features {
    pub mlsd: bool,
    pub mlst: bool,
    pub size: bool,
    pub mdtm: bool,
    pub utf8: bool,
    pub epsv: bool,
}

/// A logged-in control connection.
pub struct Control {
    conn: Connection,
    buffer: Vec<u8>,
    pub features: Features,
    /// The login directory, as PWD reported it.
    pub home: String,
    /// Whether data connections are encrypted (PROT P).
    protected: bool,
    server_name: String,
    pub last_used: Instant,
}

/// The longest reply line accepted: a server that sends more is broken.
const MAX_LINE: usize = 64 * 1024;
/// The most lines of one reply kept (a FEAT or MLST is a few dozen).
const MAX_REPLY_LINES: usize = 10_000;

impl Control {
    /// Connects, encrypts if configured, logs in and reads the features.
    pub fn open(config: &FtpConfig) -> FtpResult<Control> {
        let server = config.address();
        let what = format!("connect to {server}");
        let mut conn = Connection::connect(&config.host, config.port, config.timeout)
            .map_err(|e| FtpError::net(&what, e))?;
        if config.tls == TlsMode::Implicit {
            conn = conn
                .start_tls(&config.host)
                .map_err(|e| FtpError::net(&what, e))?;
        }
        let mut control = Control::new(conn, config);
        let greeting = control.read_reply(&what)?;
        if greeting.code != 220 {
            return Err(FtpError::Refused {
                what,
                command: "the greeting".into(),
                reply: greeting,
            });
        }
        if config.tls == TlsMode::Explicit {
            control.expect(&what, "AUTH TLS", &[234])?;
            let Control { conn, .. } = control;
            let conn = conn
                .start_tls(&config.host)
                .map_err(|e| FtpError::net(&what, e))?;
            control = Control::new(conn, config);
        }
        control.login(config)?;
        match config.tls {
            TlsMode::None => {}
            TlsMode::Explicit => {
                control.expect(&what, "PBSZ 0", &[200])?;
                control.expect(&what, "PROT P", &[200])?;
                control.protected = true;
            }
            // Some implicit-TLS servers (rclone's) refuse PBSZ and PROT,
            // and then send data in the clear: data is encrypted only if
            // the server agreed to PROT P.
            TlsMode::Implicit => {
                let _ = control.command(&what, "PBSZ 0")?;
                control.protected = control.command(&what, "PROT P")?.is_success();
            }
        }
        control.read_features(&what)?;
        // The rest of the login goes out in one write, its replies read in
        // order (a server reads its control connection one command after
        // another): over a link of 40 ms each command waited a round trip,
        // and every command of `wharf` logs in once per transfer slot.
        let mut lines = Vec::with_capacity(3);
        if control.features.utf8 {
            // Some servers want it before they accept non-ASCII names; a
            // refusal is harmless.
            lines.push("OPTS UTF8 ON");
        }
        lines.extend(["TYPE I", "PWD"]);
        control.send_all(&what, &lines)?;
        if control.features.utf8 {
            control.read_reply(&what)?;
        }
        let binary = control.read_reply(&what)?;
        let pwd = control.read_reply(&what)?;
        if binary.code != 200 {
            return Err(refused(&what, "TYPE I", binary));
        }
        if pwd.code != 257 {
            return Err(refused(&what, "PWD", pwd));
        }
        control.home = parse_pwd(&pwd.text).ok_or_else(|| FtpError::Protocol {
            what: what.clone(),
            detail: format!("cannot read the directory in the PWD reply '{pwd}'"),
        })?;
        Ok(control)
    }

    /// A connection not yet logged in.
    fn new(conn: Connection, config: &FtpConfig) -> Control {
        Control {
            conn,
            buffer: Vec::new(),
            features: Features::default(),
            home: String::new(),
            protected: false,
            server_name: config.host.clone(),
            last_used: Instant::now(),
        }
    }

    fn login(&mut self, config: &FtpConfig) -> FtpResult<()> {
        let server = config.address();
        let what = format!("log in to {server}");
        let reply = self.command(&what, &format!("USER {}", config.user))?;
        let reply = match reply.code {
            230 => return Ok(()),
            331 | 332 => self.command(&what, &format!("PASS {}", config.password))?,
            _ => return Err(FtpError::Login { server, reply }),
        };
        match reply.code {
            230 | 202 => Ok(()),
            _ => Err(FtpError::Login { server, reply }),
        }
    }

    fn read_features(&mut self, what: &str) -> FtpResult<()> {
        let reply = self.command(what, "FEAT")?;
        let mut features = Features {
            // EPSV is RFC 2428, older than FEAT: try it unless it fails.
            epsv: true,
            ..Features::default()
        };
        if reply.code == 211 {
            for line in reply.text.lines() {
                let feature = line.trim().to_ascii_uppercase();
                let name = feature.split_whitespace().next().unwrap_or("");
                match name {
                    "MLST" => {
                        features.mlst = true;
                        features.mlsd = true;
                    }
                    "MLSD" => features.mlsd = true,
                    "SIZE" => features.size = true,
                    "MDTM" => features.mdtm = true,
                    "UTF8" => features.utf8 = true,
                    _ => {}
                }
            }
        }
        self.features = features;
        Ok(())
    }

    /// Sends `line` and reads the final reply (skipping none: a 1xx is
    /// returned as is, for transfer commands).
    pub fn command(&mut self, what: &str, line: &str) -> FtpResult<Reply> {
        self.send(what, line)?;
        self.read_reply(what)
    }

    /// Sends `line` and fails unless the reply's code is one of `ok`.
    pub fn expect(&mut self, what: &str, line: &str, ok: &[u16]) -> FtpResult<Reply> {
        let reply = self.command(what, line)?;
        if ok.contains(&reply.code) {
            Ok(reply)
        } else {
            Err(refused(what, line, reply))
        }
    }

    /// Sends one command line. Paths with line breaks never get here (the
    /// store refuses such keys), so a line cannot smuggle a second command.
    pub fn send(&mut self, what: &str, line: &str) -> FtpResult<()> {
        self.send_all(what, &[line])
    }

    /// Sends several command lines in one write, for commands whose
    /// replies are then read in order; none may hold a line break (as for
    /// [`Control::send`]).
    pub fn send_all(&mut self, what: &str, lines: &[&str]) -> FtpResult<()> {
        self.last_used = Instant::now();
        let mut bytes = Vec::with_capacity(lines.iter().map(|l| l.len() + 2).sum());
        for line in lines {
            debug_assert!(!line.contains(['\r', '\n']));
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        self.conn
            .write_all(&bytes)
            .map_err(|e| FtpError::net(what, e))
    }

    /// Reads one reply, single- or multi-line (`123-` … `123 `).
    pub fn read_reply(&mut self, what: &str) -> FtpResult<Reply> {
        let first = self.read_line(what)?;
        let code = parse_code(&first).ok_or_else(|| FtpError::Protocol {
            what: what.to_owned(),
            detail: format!("the server sent '{first}', not an FTP reply"),
        })?;
        let mut text = first[4.min(first.len())..].to_owned();
        if first.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            let mut lines = 0;
            loop {
                let line = self.read_line(what)?;
                lines += 1;
                if line.starts_with(&end) || line == format!("{code}") {
                    text.push('\n');
                    text.push_str(line.get(4..).unwrap_or(""));
                    break;
                }
                if lines > MAX_REPLY_LINES {
                    return Err(FtpError::Protocol {
                        what: what.to_owned(),
                        detail: format!("reply {code} does not end"),
                    });
                }
                text.push('\n');
                text.push_str(&line);
            }
        }
        self.last_used = Instant::now();
        Ok(Reply { code, text })
    }

    fn read_line(&mut self, what: &str) -> FtpResult<String> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buffer.len() > MAX_LINE {
                return Err(FtpError::Protocol {
                    what: what.to_owned(),
                    detail: format!("the server sent a line longer than {MAX_LINE} bytes"),
                });
            }
            let bytes = self.conn.read(8192).map_err(|e| FtpError::net(what, e))?;
            if bytes.is_empty() {
                return Err(FtpError::net(
                    what,
                    wharf_plugin::net::NetError::Unreachable(format!(
                        "{}: the server closed the connection",
                        self.conn.peer()
                    )),
                ));
            }
            self.buffer.extend_from_slice(&bytes);
        }
    }

    /// Asks for a passive data address (EPSV, else PASV) and checks that
    /// it is the server's own address.
    pub fn passive(&mut self, what: &str) -> FtpResult<SocketAddr> {
        let server = self.conn.peer().ip();
        if self.features.epsv {
            let reply = self.command(what, "EPSV")?;
            if reply.code == 229 {
                let port = parse_epsv(&reply.text).ok_or_else(|| FtpError::Protocol {
                    what: what.to_owned(),
                    detail: format!("cannot read the port in the EPSV reply '{reply}'"),
                })?;
                return Ok(SocketAddr::new(server, port));
            }
            // Not understood (500/502): PASV from now on.
            self.features.epsv = false;
        }
        let reply = self.expect(what, "PASV", &[227])?;
        let offered = parse_pasv(&reply.text).ok_or_else(|| FtpError::Protocol {
            what: what.to_owned(),
            detail: format!("cannot read the address in the PASV reply '{reply}'"),
        })?;
        if offered.ip() != server {
            return Err(FtpError::Bounce {
                what: what.to_owned(),
                offered,
                server,
            });
        }
        Ok(offered)
    }

    /// Starts a transfer: opens a data connection, sends `line` (RETR,
    /// STOR, MLSD, LIST) and waits for the 1xx that says the server is on
    /// it. Errors from the server come back as `Refused`.
    pub fn start_transfer(
        &mut self,
        what: &str,
        line: &str,
        timeout: std::time::Duration,
    ) -> FtpResult<Connection> {
        self.start_transfer_at(what, line, 0, timeout)
    }

    /// [`Control::start_transfer`] from byte `offset` (REST, sent right
    /// before the command: servers forget it after any other command).
    pub fn start_transfer_at(
        &mut self,
        what: &str,
        line: &str,
        offset: u64,
        timeout: std::time::Duration,
    ) -> FtpResult<Connection> {
        let address = self.passive(what)?;
        let data =
            Connection::connect_addr(address, timeout).map_err(|e| FtpError::net(what, e))?;
        if offset > 0 {
            self.expect(what, &format!("REST {offset}"), &[350])?;
        }
        let reply = self.command(what, line)?;
        if !reply.is_preliminary() {
            return Err(refused(what, line, reply));
        }
        if self.protected {
            // The server starts TLS on the data connection once it has
            // taken the command (RFC 4217), so the handshake comes after.
            return data
                .start_tls(&self.server_name)
                .map_err(|e| FtpError::net(what, e));
        }
        Ok(data)
    }

    /// Reads the reply that ends a transfer (226/250).
    pub fn end_transfer(&mut self, what: &str, line: &str) -> FtpResult<Reply> {
        let reply = self.read_reply(what)?;
        if reply.is_success() {
            Ok(reply)
        } else {
            Err(refused(what, line, reply))
        }
    }

    /// Says goodbye (best effort).
    pub fn quit(mut self) {
        let _ = self.send("quit", "QUIT");
    }
}

/// The server's refusal of `line`, named by its command word.
fn refused(what: &str, line: &str, reply: Reply) -> FtpError {
    FtpError::Refused {
        what: what.to_owned(),
        command: command_name(line),
        reply,
    }
}

/// The command word of `line`, for messages (never the argument: it may
/// be a password).
fn command_name(line: &str) -> String {
    line.split_whitespace().next().unwrap_or("").to_owned()
}

fn parse_code(line: &str) -> Option<u16> {
    let code = line.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match line.as_bytes().get(3) {
        None | Some(b' ') | Some(b'-') => code.parse().ok(),
        _ => None,
    }
}

/// `257 "/home/user" is the current directory`, with `""` for a quote.
fn parse_pwd(text: &str) -> Option<String> {
    let start = text.find('"')? + 1;
    let mut out = String::new();
    let mut chars = text[start..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
                out.push('"');
            } else {
                return Some(out);
            }
        } else {
            out.push(c);
        }
    }
    None
}

/// `229 Entering Extended Passive Mode (|||6446|)`.
fn parse_epsv(text: &str) -> Option<u16> {
    let open = text.find('(')?;
    let inner = &text[open + 1..text[open..].find(')')? + open];
    let delimiter = inner.chars().next()?;
    let parts: Vec<&str> = inner.split(delimiter).collect();
    parts.get(3)?.parse().ok()
}

/// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`; some servers leave
/// out the parentheses.
fn parse_pasv(text: &str) -> Option<SocketAddr> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let numbers: Vec<u8> = text[start..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(6)
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    if numbers.len() != 6 {
        return None;
    }
    let ip = Ipv4Addr::new(numbers[0], numbers[1], numbers[2], numbers[3]);
    let port = u16::from(numbers[4]) << 8 | u16::from(numbers[5]);
    Some(SocketAddr::new(IpAddr::V4(ip), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_passive_replies() {
        assert_eq!(
            parse_pasv("Entering Passive Mode (127,0,0,1,195,80)."),
            Some("127.0.0.1:50000".parse().unwrap())
        );
        assert_eq!(
            parse_pasv("Entering Passive Mode 10,0,0,7,4,1"),
            Some("10.0.0.7:1025".parse().unwrap())
        );
        assert_eq!(parse_pasv("Entering Passive Mode (1,2,3)"), None);
        assert_eq!(
            parse_epsv("Entering Extended Passive Mode (|||6446|)"),
            Some(6446)
        );
        assert_eq!(parse_epsv("Entering Extended Passive Mode"), None);
    }

    #[test]
    fn reads_pwd() {
        assert_eq!(
            parse_pwd("\"/home/a \"\"b\"\"\" is current").as_deref(),
            Some("/home/a \"b\"")
        );
        assert_eq!(parse_pwd("no quotes"), None);
    }

    #[test]
    fn reads_codes() {
        assert_eq!(parse_code("220 hello"), Some(220));
        assert_eq!(parse_code("211-Features:"), Some(211));
        assert_eq!(parse_code("226"), Some(226));
        assert_eq!(parse_code("22x nope"), None);
        assert_eq!(parse_code(" MLST"), None);
    }
}
