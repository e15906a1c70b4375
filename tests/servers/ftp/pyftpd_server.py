#!/usr/bin/env python3
"""Foreground FTP/FTPS test server (pyftpdlib).

usage: pyftpd_server.py --port P --root DIR --user U --password PW
                        [--tls --cert server.crt --key server.key [--tls-required]]
                        [--passive-ports 42200-42299] [--host 127.0.0.1]
Prints "READY <port>" on stdout once listening (port 0 => OS-chosen port).
"""
import argparse, logging, signal, sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--tls-required", action="store_true",
                    help="require AUTH TLS before login and PROT P for data")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--passive-ports", default=None, help="LOW-HIGH")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--idle-timeout", type=int, default=300,
                    help="seconds before an idle session is dropped")
    a = ap.parse_args()

    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.WARNING,
                        stream=sys.stderr, format="%(asctime)s %(message)s")

    auth = DummyAuthorizer()
    # e=CWD l=LIST r=RETR a=APPE d=DELE f=RNFR/RNTO m=MKD w=STOR M=SITE CHMOD T=MFMT
    auth.add_user(a.user, a.password, a.root, perm="elradfmwMT")

    if a.tls:
        from pyftpdlib.handlers import TLS_FTPHandler  # needs pyOpenSSL
        handler = type("H", (TLS_FTPHandler,), {})
        handler.certfile = a.cert
        handler.keyfile = a.key
        handler.tls_control_required = a.tls_required
        handler.tls_data_required = a.tls_required
    else:
        handler = type("H", (FTPHandler,), {})
    handler.authorizer = auth
    handler.timeout = a.idle_timeout
    handler.masquerade_address = None  # PASV reports the control-connection local address (127.0.0.1)
    handler.auth_failed_timeout = 0     # default sleeps 3 s after a bad password
    if a.passive_ports:
        lo, hi = (int(x) for x in a.passive_ports.split("-"))
        handler.passive_ports = range(lo, hi + 1)

    server = FTPServer((a.host, a.port), handler)
    server.max_cons = 256
    server.max_cons_per_ip = 0

    def on_term(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, on_term)

    print(f"READY {server.address[1]}", flush=True)
    server.serve_forever(handle_exit=True)


if __name__ == "__main__":
    main()
