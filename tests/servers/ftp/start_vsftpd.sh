#!/bin/bash
# usage: start_vsftpd.sh WORKDIR PORT PASV_LO PASV_HI [CERT KEY]
# Logs in as system user ftptest (created by install script). Data dir = WORKDIR/data.
set -euo pipefail
W=$1 PORT=$2 LO=$3 HI=$4 CERT=${5:-} KEY=${6:-}
mkdir -p "$W/data" "$W/empty"
chown ftptest:ftptest "$W/data"; chown root:root "$W/empty"; chmod 755 "$W/empty"
cat > "$W/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
background=NO
listen_address=127.0.0.1
listen_port=$PORT
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
pam_service_name=vsftpd
userlist_enable=NO
tcp_wrappers=NO
chroot_local_user=YES
allow_writeable_chroot=YES
local_root=$W/data
secure_chroot_dir=$W/empty
seccomp_sandbox=NO
pasv_enable=YES
pasv_address=127.0.0.1
pasv_addr_resolve=NO
pasv_min_port=$LO
pasv_max_port=$HI
connect_from_port_20=NO
use_localtime=NO
utf8_filesystem=YES
force_dot_files=YES
dirmessage_enable=NO
hide_ids=NO
max_per_ip=0
max_clients=0
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
syslog_enable=NO
vsftpd_log_file=$W/vsftpd.log
CONF
if [ -n "$CERT" ]; then cat >> "$W/vsftpd.conf" <<CONF
ssl_enable=YES
rsa_cert_file=$CERT
rsa_private_key_file=$KEY
force_local_logins_ssl=NO
force_local_data_ssl=NO
require_ssl_reuse=NO
ssl_ciphers=HIGH
CONF
fi
exec vsftpd "$W/vsftpd.conf"
