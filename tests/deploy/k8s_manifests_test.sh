#!/usr/bin/env bash
# deploy/k8s: the kustomize base and overlays render and pass scripts/validate_k8s.sh, the renders
# wire the daemons as intended, and the validator refuses broken copies (a misspelt field, a wrong
# type, a reference to a missing Secret, a probe with two handlers).
# Usage: k8s_manifests_test.sh SOURCE_DIR   Exit 77 (skip) where kubectl, node or npm is missing.
set -uo pipefail
src="$1"
validate="$src/scripts/validate_k8s.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out="$(MT_K8S_RENDER_OUT="$tmp/render" bash "$validate" "$src/deploy/k8s" 2>&1)"
rc=$?
[ $rc = 77 ] && { echo "$out"; exit 77; }
[ $rc = 0 ] || fail "the shipped manifests are invalid (rc $rc): $out"
grep -q "^valid base.yaml: 9 objects" <<<"$out" || fail "base did not render 9 objects: $out"
grep -q "^valid tls.yaml: 10 objects" <<<"$out" || fail "tls overlay did not render 10 objects: $out"

base="$tmp/render/base.yaml" tls="$tmp/render/tls.yaml"
want() { grep -qF -- "$2" "$1" || fail "$(basename "$1") lacks: $2"; }
want "$base" 'value: dns:///mt-receiver-headless.$(POD_NAMESPACE).svc.cluster.local:50052'
want "$base" '--metrics_listen=0.0.0.0:9090'
want "$base" 'clusterIP: None'
want "$base" 'mountPath: /var/lib/mt/received'
want "$base" 'prometheus.io/port: "9090"'
[ "$(grep -c 'runAsUser: 10001' "$base")" = 2 ] || fail "both pods must run as uid 10001"
[ "$(grep -c 'readOnlyRootFilesystem: true' "$base")" = 2 ] || fail "both root filesystems must be read-only"
[ "$(grep -c '^ *grpc:$' "$base")" = 6 ] || fail "base: expected 3 native gRPC probes per daemon"
grep -q '^ *grpc:$' "$tls" && fail "tls: a native gRPC probe is left (the kubelet's probe cannot speak TLS)"
[ "$(grep -c -- '- mt-healthcheck' "$tls")" = 6 ] || fail "tls: expected 3 mt-healthcheck probes per daemon"
want "$tls" 'value: /run/secrets/mt/server.pem'

# make_secrets.sh writes what the generators read: a random token, certificates naming the services.
cp -r "$src/deploy/k8s" "$tmp/secrets"
rm -rf "$tmp/secrets/base/secrets/token" "$tmp/secrets/overlays/tls/certs"
MT_MAKE_CERTS="$src/scripts/make_certs.sh" bash "$tmp/secrets/make_secrets.sh" prod > /dev/null || fail "make_secrets.sh failed"
certs="$tmp/secrets/overlays/tls/certs"
grep -qE '^[0-9a-f]{32}$' "$tmp/secrets/base/secrets/token" || fail "token is not 32 hex digits"
token="$(cat "$tmp/secrets/base/secrets/token")"
openssl verify -CAfile "$certs/ca.pem" "$certs/server.pem" "$certs/client.pem" > /dev/null || fail "certificates do not verify"
san="$(openssl x509 -in "$certs/server.pem" -noout -text | grep -A1 'Subject Alternative Name')"
for n in IP\ Address:127.0.0.1 DNS:mt-receiver-headless DNS:mt-sender.prod.svc.cluster.local; do
  grep -qF "$n" <<<"$san" || fail "server.pem does not name $n: $san"
done
MT_MAKE_CERTS=/nonexistent bash "$tmp/secrets/make_secrets.sh" prod > /dev/null || fail "second run failed"
[ "$(cat "$tmp/secrets/base/secrets/token")" = "$token" ] || fail "a second run replaced the token"

# Each broken copy must fail, and the report must name what is wrong.
broken() {  # NAME FILE SED_EXPRESSION EXPECTED_TEXT
  local copy="$tmp/$1"
  cp -r "$src/deploy/k8s" "$copy"
  rm -rf "$copy/base/secrets/token" "$copy/overlays/tls/certs"
  sed -i "$3" "$copy/$2"
  cmp -s "$src/deploy/k8s/$2" "$copy/$2" && fail "$1: the edit changed nothing"
  local got
  got="$(bash "$validate" "$copy" 2>&1)" && fail "$1: the validator accepted it: $got"
  grep -qF -- "$4" <<<"$got" || fail "$1: the report does not say '$4': $got"
  echo "refused as expected: $1"
}
broken misspelt_field base/receiver.yaml '0,/failureThreshold: 24/s//failureTreshold: 24/' \
  "'\"failureTreshold\"' does not exist in type 'IProbe'"
broken wrong_type base/sender.yaml 's/containerPort: 50051/containerPort: "50051"/' \
  "containers/0/ports/0/containerPort must be integer"
broken missing_secret overlays/tls/sender-tls.yaml 's/secretName: mt-tls/secretName: mt-tsl/' \
  "volume tls: no Secret mt-tsl"
broken two_probe_handlers overlays/tls/receiver-tls.yaml '/\$patch: replace/d' \
  "livenessProbe needs exactly one of exec/httpGet/tcpSocket/grpc, has exec+grpc"
echo "PASS"
