#!/usr/bin/env bash
# Offline check of the Kubernetes manifests (no cluster needed): renders the kustomize base and
# every overlay with `kubectl kustomize`, then validates every rendered object against the
# Kubernetes schemas (npm kubernetes-models 4.5.1: Kubernetes 1.33 OpenAPI, JSON schema + strict
# TypeScript interfaces, so misspelt fields fail too) and checks references within each render
# (scripts/k8s_schema/). Secrets are never read: the tree is copied without them and
# deploy/k8s/make_secrets.sh --placeholders writes stand-ins into the copy.
#
# Usage: scripts/validate_k8s.sh [K8S_DIR=deploy/k8s]
# Env:   KUBECTL (kubectl), MT_K8S_TOOLS (npm cache folder; default ~/.cache/mt-k8s): the pinned
#        packages (scripts/k8s_schema/package-lock.json) are installed there once, from the npm
#        registry, and reused offline after that. MT_K8S_RENDER_OUT: a folder to keep the renders in.
# Exit:  0 valid; 1 invalid or a tool failed; 77 kubectl, node or npm not installed (setup.sh does).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
k8s_dir="$(cd "${1:-$repo/deploy/k8s}" && pwd)"
kubectl="${KUBECTL:-kubectl}"
schema_dir="$repo/scripts/k8s_schema"
log() { printf '[validate_k8s] %s\n' "$*"; }
die() { printf '[validate_k8s] ERROR: %s\n' "$*" >&2; exit 1; }

for tool in "$kubectl" node npm; do
  command -v "$tool" >/dev/null || { log "SKIP: $tool not found (scripts/setup.sh installs it)"; exit 77; }
done

# Pinned npm packages, keyed by the lockfile so that a version bump installs afresh.
key="$(sha256sum "$schema_dir/package-lock.json" | cut -c1-16)"
tools="${MT_K8S_TOOLS:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/mt-k8s}/$key"
if [ ! -f "$tools/.installed" ]; then
  log "installing the schema packages into $tools (once)"
  mkdir -p "$tools"
  cp "$schema_dir/package.json" "$schema_dir/package-lock.json" "$tools/"
  (cd "$tools" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >npm.log 2>&1) ||
    { tail -n 20 "$tools/npm.log" >&2; die "npm ci failed in $tools (needs the npm registry once)"; }
  touch "$tools/.installed"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$k8s_dir" "$work/k8s"
rm -rf "$work/k8s/base/secrets/token" "$work/k8s/base/secrets/receiver_token" "$work/k8s/overlays/tls/certs"
bash "$work/k8s/make_secrets.sh" --placeholders >"$work/secrets.log" 2>&1 ||
  { cat "$work/secrets.log" >&2; die "make_secrets.sh failed"; }

mkdir -p "$work/render"
renders=()
for dir in "$work/k8s/base" "$work/k8s"/overlays/*/; do
  dir="${dir%/}"
  name="$(basename "$dir")"
  [ -f "$dir/kustomization.yaml" ] || continue
  out="$work/render/$name.yaml"
  # kustomize v5 warns that fields kept for kustomize v2 (bases, patchesStrategicMerge) are deprecated.
  if ! "$kubectl" kustomize "$dir" >"$out" 2>"$work/render/$name.err"; then
    grep -v "^# Warning: '.*' is deprecated" "$work/render/$name.err" >&2 || true
    die "kubectl kustomize ${dir#"$work/k8s/"} failed"
  fi
  renders+=("$out")
done
[ ${#renders[@]} -gt 0 ] || die "no kustomization.yaml under $k8s_dir"
log "rendered ${#renders[@]} kustomizations with $("$kubectl" version --client 2>/dev/null | head -n 1)"

(cd "$work/render" && NODE_PATH="$tools/node_modules" node "$schema_dir/check_manifests.js" "${renders[@]##*/}") ||
  die "schema or reference errors above"
if [ -n "${MT_K8S_RENDER_OUT:-}" ]; then mkdir -p "$MT_K8S_RENDER_OUT" && cp "${renders[@]}" "$MT_K8S_RENDER_OUT/"; fi
log "all valid"
