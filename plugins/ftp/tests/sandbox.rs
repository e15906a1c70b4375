//! The FTP plugin reaches only its server: its grant is the configured
//! host, and a passive-mode reply that points anywhere else is refused
//! before any connection is made there (the FTP bounce problem).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wharf::{ErrorKind, Limits, NetworkProtocol, Remote, Runtime};

/// A minimal FTP server that logs anyone in and answers PASV with
/// `pasv_target`; it serves nothing.
fn bouncing_server(pasv_target: std::net::SocketAddr) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || serve(stream, pasv_target));
        }
    });
    port
}

fn serve(stream: TcpStream, pasv_target: std::net::SocketAddr) {
    let mut out = stream.try_clone().unwrap();
    let mut reply = |line: &str| {
        let _ = out.write_all(format!("{line}\r\n").as_bytes());
    };
    reply("220 bouncer ready");
    let ip = match pasv_target.ip() {
        std::net::IpAddr::V4(ip) => ip.octets(),
        _ => unreachable!(),
    };
    let port = pasv_target.port();
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        let command = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match command.as_str() {
            "USER" => reply("331 password please"),
            "PASS" => reply("230 logged in"),
            "FEAT" => reply("211 no features"),
            "TYPE" => reply("200 binary"),
            "PWD" => reply("257 \"/\" is the current directory"),
            "EPSV" => reply("502 not implemented"),
            "PASV" => reply(&format!(
                "227 Entering Passive Mode ({},{},{},{},{},{})",
                ip[0],
                ip[1],
                ip[2],
                ip[3],
                port >> 8,
                port & 0xff
            )),
            "QUIT" => return reply("221 bye"),
            _ => reply("550 nothing here"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasv_reply_naming_another_address_is_refused_and_never_connected() {
    // The address the server tries to aim the plugin at: another loopback
    // address, with a listener that counts who connects.
    let target = TcpListener::bind("127.0.0.2:0").unwrap();
    let target_addr = target.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    target.set_nonblocking(true).unwrap();
    std::thread::spawn(move || loop {
        if target.accept().is_ok() {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        std::thread::sleep(Duration::from_millis(10));
    });
    let port = bouncing_server(target_addr);

    let plugin = Runtime::new().unwrap().load_bundled("ftp").await.unwrap();
    let options = vec![
        ("host".into(), "127.0.0.1".into()),
        ("port".into(), port.to_string()),
        ("user".into(), "someone".into()),
        ("password".into(), "secret".into()),
    ];
    let remote = Remote::new("bouncer", plugin, options, Limits::default()).unwrap();
    let err = remote.open_read("file.bin", None).await.err().unwrap();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "read bouncer:file.bin: read \"file.bin\": the server asked for a data connection to {target_addr}, not to itself (127.0.0.1)"
        )) && text.contains("FTP bounce"),
        "{text}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "nothing may connect to the address a PASV reply names"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grant_is_the_servers_host_only() {
    let plugin = Runtime::new().unwrap().load_bundled("ftp").await.unwrap();
    let options = vec![
        ("host".into(), "ftp.example.com".into()),
        ("user".into(), "me".into()),
    ];
    let remote = Remote::new("box", plugin, options, Limits::default()).unwrap();
    let grant = remote.grant();
    assert!(grant.directories.is_empty());
    let network: Vec<(NetworkProtocol, &str)> = grant
        .network
        .iter()
        .map(|g| (g.protocol, g.endpoint.as_str()))
        .collect();
    assert_eq!(network, vec![(NetworkProtocol::Tcp, "ftp.example.com:*")]);
}
