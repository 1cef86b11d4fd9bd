#!/usr/bin/env bash
# Writes the files the kustomize secretGenerators read (all git-ignored, see .gitignore):
#   base/secrets/token              a random bearer token clients present to the sender (32 hex digits)
#   base/secrets/receiver_token     another one, which the sender presents to the receivers
#   overlays/tls/certs/*.pem|key    a throwaway CA, one serving certificate for both daemons and the
#                                   sender's client certificate (scripts/make_certs.sh)
# Existing files are kept: delete them to rotate (the generated Secret names change with the
# content, so the next `kubectl apply -k` rolls the pods).
# Usage: deploy/k8s/make_secrets.sh [NAMESPACE=mt] [EXTRA_NAMES...]
#        deploy/k8s/make_secrets.sh --placeholders   (text that is no key at all: for offline
#                                                     rendering only, scripts/validate_k8s.sh)
#   EXTRA_NAMES: further DNS names clients use for the sender (e.g. an Ingress or LoadBalancer host).
# Env: MT_MAKE_CERTS (path of make_certs.sh; default: the repository's scripts/make_certs.sh).
# For real deployments bring your own CA's certificates: put them in overlays/tls/certs/ under
# these names, with the names below in server.pem's subjectAltName.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kCertFiles="ca.pem server.pem server.key client.pem client.key"  # overlays/tls/kustomization.yaml
if [ "${1:-}" = --placeholders ]; then
  mkdir -p "$here/base/secrets" "$here/overlays/tls/certs"
  echo "placeholder-token" > "$here/base/secrets/token"
  echo "placeholder-receiver-token" > "$here/base/secrets/receiver_token"
  for f in $kCertFiles; do echo "placeholder $f" > "$here/overlays/tls/certs/$f"; done
  exit 0
fi
ns="${1:-mt}"
[ $# -gt 0 ] && shift
make_certs="${MT_MAKE_CERTS:-$here/../../scripts/make_certs.sh}"

for token in "$here/base/secrets/token" "$here/base/secrets/receiver_token"; do
  if [ -s "$token" ]; then
    echo "[secrets] keeping $token"
  else
    mkdir -p "$(dirname "$token")"
    (umask 077; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$token")
    echo "[secrets] wrote $token"
  fi
done

certs="$here/overlays/tls/certs"
have=1
for f in $kCertFiles; do [ -s "$certs/$f" ] || have=0; done
if [ $have = 1 ]; then
  echo "[secrets] keeping $certs/"
else
  # 127.0.0.1 (added by make_certs.sh): mt-healthcheck asks the pod's own daemon there.
  # mt-receiver-headless: the sender's --receiver_tls_name (overlays/tls/sender-tls.yaml).
  names="localhost mt-sender mt-sender.$ns mt-sender.$ns.svc mt-sender.$ns.svc.cluster.local"
  names="$names mt-receiver-headless mt-receiver-headless.$ns.svc.cluster.local $*"
  [ -f "$make_certs" ] || { echo "[secrets] no $make_certs (set MT_MAKE_CERTS)" >&2; exit 1; }
  bash "$make_certs" "$certs" "$names" >/dev/null
  rm -f "$certs/ca.key"  # a throwaway CA: its key should not lie around next to the manifests
  echo "[secrets] wrote $certs/ (server names: $names)"
fi
