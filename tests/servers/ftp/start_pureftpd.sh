#!/bin/bash
# usage: start_pureftpd.sh WORKDIR PORT PASV_LO PASV_HI USER PASS [CERT KEY]
# Foreground; exec's pure-ftpd (pid of this script == pid of the master). Data dir = WORKDIR/data.
# FTP_BIND: the address it listens on (127.0.0.1); FTP_PASSIVE_ADDRESS: the one its passive replies
# name (FTP_BIND), e.g. a proxy's in front of every port (bench/farlink.py).
set -euo pipefail
TOOLS=${FTP_TOOLS_DIR:-/opt/ftp-test-tools}
W=$1 PORT=$2 LO=$3 HI=$4 U=$5 PW=$6 CERT=${7:-} KEY=${8:-}
mkdir -p "$W/data"
chown 65534:65534 "$W/data"          # virtual user runs as nobody:nogroup (pure-pw refuses uid 0)
# Write the virtual-user line ourselves with a SHA-512 crypt hash: `pure-pw useradd` uses argon2id
# (~3 s CPU to create, ~2.6 s on EVERY login). Format = what pure-pw writes; "/./" = chroot there.
echo "$U:$(openssl passwd -6 "$PW"):65534:65534::$W/data/./::::::::::::" > "$W/pureftpd.passwd"
"$TOOLS/pure-ftpd/usr/bin/pure-pw" mkdb "$W/pureftpd.pdb" -f "$W/pureftpd.passwd"
TLS=()
[ -n "$CERT" ] && TLS=(-Y 1 -2 "$CERT,$KEY")   # -Y 1: plain and explicit TLS both accepted
exec "$TOOLS/pure-ftpd/usr/sbin/pure-ftpd" \
    -S "${FTP_BIND:-127.0.0.1},$PORT" -4 -H -E -D -f none \
    -l "puredb:$W/pureftpd.pdb" \
    -p "$LO:$HI" -P "${FTP_PASSIVE_ADDRESS:-${FTP_BIND:-127.0.0.1}}" \
    -c 50 -C 50 \
    -O "w3c:$W/transfer.log" \
    "${TLS[@]}"
