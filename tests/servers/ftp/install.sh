#!/bin/bash
# Installs the FTP servers the tests start (Debian, as root; idempotent, ~5 s):
# pure-ftpd unpacked from its .deb (it conflicts with vsftpd in apt), vsftpd
# with a system user for it, pyftpdlib + pyOpenSSL in a venv. rclone (the
# fourth server, `rclone serve ftp`) comes from PyPI with the other tools.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
TOOLS=${FTP_TOOLS_DIR:-/opt/ftp-test-tools}
mkdir -p "$TOOLS"

need_update=1
apt_install() { # apt-get install only what is missing
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    [ $need_update = 1 ] && { apt-get update -qq; need_update=0; }
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# Shared tools: openssl (certs), util-linux (unshare), procps (ps)
apt_install openssl ca-certificates util-linux procps

# 1. pure-ftpd: NOT via apt-get install (Conflicts: ftp-server, i.e. vsftpd). Unpack the .debs into $TOOLS/pure-ftpd.
#    Runtime libs it links against (all normally present; installing them does not conflict):
apt_install libc6 libcap2 libcrypt1 libpam0g libsodium23 libssl3
if [ ! -x "$TOOLS/pure-ftpd/usr/sbin/pure-ftpd" ]; then
  [ $need_update = 1 ] && { apt-get update -qq; need_update=0; }
  tmp=$(mktemp -d)   # Sandbox::User=root below avoids the "_apt couldn't access" warning
  ( cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root pure-ftpd pure-ftpd-common )
  mkdir -p "$TOOLS/pure-ftpd"
  for d in "$tmp"/*.deb; do dpkg -x "$d" "$TOOLS/pure-ftpd"; done
  rm -rf "$tmp"
fi
"$TOOLS/pure-ftpd/usr/sbin/pure-ftpd" --help 2>&1 | head -1   # "pure-ftpd v1.0.50 [privsep]"

# 2. vsftpd: normal package. policy-rc.d / no init system may or may not start the stock daemon
#    (stock /etc/vsftpd.conf listens on :21, so it never collides with test ports); stop it anyway.
apt_install vsftpd
if [ -x /etc/init.d/vsftpd ]; then /etc/init.d/vsftpd stop >/dev/null 2>&1 || true; fi
# home must exist (vsftpd chdirs to it before local_root, else "500 OOPS: cannot change directory");
# shell must be listed in /etc/shells (pam_shells in /etc/pam.d/vsftpd); name must not be in /etc/ftpusers.
id ftptest >/dev/null 2>&1 || useradd -M -d / -s /bin/bash ftptest
[ "$(getent passwd ftptest | cut -d: -f6,7)" = "/:/bin/bash" ] || usermod -d / -s /bin/bash ftptest
echo 'ftptest:ftptest-secret' | chpasswd

# 3. pyftpdlib + pyOpenSSL (TLS_FTPHandler needs pyOpenSSL). A venv keeps the global site-packages untouched.
command -v python3 >/dev/null || apt_install python3
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
if [ ! -x "$TOOLS/venv/bin/python" ]; then python3 -m venv "$TOOLS/venv"; fi
"$TOOLS/venv/bin/python" -c 'import pyftpdlib, OpenSSL' 2>/dev/null || \
  "$TOOLS/venv/bin/pip" install -q pyftpdlib pyopenssl
