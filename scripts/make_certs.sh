#!/usr/bin/env bash
# Generates a throwaway CA and certificates for TLS / mTLS between client, sender and receiver.
# Usage: scripts/make_certs.sh [DIR=certs] [NAMES="localhost"]
#   DIR/ca.pem, ca.key                  the CA (trust it with --tls_ca / --receiver_ca / --tls_client_ca)
#   DIR/server.pem, server.key          serving certificate for NAMES (+ 127.0.0.1): both daemons
#   DIR/client.pem, client.key          client certificate (mTLS): mt-client and the sender's receiver hop
set -euo pipefail
DIR="${1:-certs}"
NAMES="${2:-localhost}"
mkdir -p "$DIR"
cd "$DIR"
san="IP:127.0.0.1"
for n in $NAMES; do san="$san,DNS:$n"; done
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=mt test CA" -keyout ca.key -out ca.pem 2>/dev/null
for who in server client; do
  openssl req -newkey rsa:2048 -nodes -subj "/CN=mt $who" -keyout "$who.key" -out "$who.csr" 2>/dev/null
  ext="$(mktemp)"
  if [ "$who" = server ]; then
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" > "$ext"
  else
    printf 'extendedKeyUsage=clientAuth\n' > "$ext"
  fi
  openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -extfile "$ext" \
    -out "$who.pem" 2>/dev/null
  rm -f "$who.csr" "$ext"
done
rm -f ca.srl
echo "[certs] $(pwd): ca.pem server.pem/key (SAN $san) client.pem/key"
