#!/bin/bash
# usage: mkcerts.sh OUTDIR [SAN] -> ca.crt ca.key server.key server.crt server.pem(cert+key)
# SAN defaults to IP:127.0.0.1,DNS:localhost (the servers' address).
set -euo pipefail
D=${1:?outdir}; SAN=${2:-IP:127.0.0.1,DNS:localhost}; mkdir -p "$D"; cd "$D"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Test FTP CA" \
  -keyout ca.key -out ca.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$SAN" > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
  -extfile server.ext -out server.crt 2>/dev/null
cat server.crt server.key > server.pem
chmod 600 server.key server.pem ca.key
