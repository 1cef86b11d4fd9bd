#!/usr/bin/env bash
# Installs every build and run dependency from Debian 12 (bookworm) packages.
# Idempotent and non-interactive: packages already present are not touched.
# Usage: scripts/setup.sh            (as root, or with sudo available)
set -euo pipefail

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

if [ -r /etc/os-release ]; then
  . /etc/os-release
  [ "${ID:-}" = debian ] && [ "${VERSION_ID:-}" = 12 ] || \
    log "warning: this targets Debian 12; found ${PRETTY_NAME:-unknown} — continuing"
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "run as root or install sudo"
  SUDO="sudo"
fi

# The BLAS LibTorch uses. Measured on 2 cores (docs/RESULTS.md, scripts/bench_blas.sh):
# the reference BLAS is ~35x slower; BLAS_VARIANT picks which OpenBLAS build wins.
BLAS_VARIANT="${MT_BLAS_VARIANT:-openmp}"

PACKAGES=(
  # toolchain
  cmake g++ make pkg-config git ca-certificates
  # libraries (core/)
  libtorch-dev libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  zlib1g-dev  # the receiver's parallel PNG writer
  libopencv-photo-dev  # mt-eval: Telea inpainting baseline
  libabsl-dev libspdlog-dev libyaml-cpp-dev
  libgloo-dev  # mt-train data-parallel (trainer.devices > 1): LibTorch's ProcessGroupGloo header needs it
  "libopenblas0-${BLAS_VARIANT}"
  # frontends (server/, client/): gRPC, Protobuf, the standard health .proto, openssl for test certs
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc grpc-proto openssl libssl-dev
  # --metrics_listen: Prometheus metrics of both daemons
  prometheus-cpp-dev
  # mt-client bench plots
  gnuplot-nox
  # mt-client bench anchors: AVIF (libavif + aom) and JPEG XL rows beside JPEG/WebP (compiled out when missing)
  libavif-dev libjxl-dev
  # tests: GoogleTest, NumPy reference values, PyTorch to check checkpoints open in Python
  libgtest-dev libgmock-dev python3-numpy python3-torch
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# tests/deploy (k8s_manifests): kubectl renders deploy/k8s, Node.js and npm run the schema check
# (scripts/validate_k8s.sh). Installed only where the command is missing, so that a newer kubectl or
# Node.js already on the machine is kept (Debian's packages would replace or conflict with them).
for tool in kubectl:kubernetes-client node:nodejs npm:npm; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done

if [ ${#missing[@]} -eq 0 ]; then
  log "all ${#PACKAGES[@]} packages already installed"
else
  log "installing ${#missing[@]} package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q || die "apt-get update failed (network or sources.list?)"
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" || die "apt-get install failed"
fi

# Point the BLAS alternatives at the chosen OpenBLAS build (LibTorch links libblas.so.3
# and libopenblas.so.0 through Debian's alternatives).
arch_dir="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
multiarch="$(basename "$arch_dir")"
for lib in libblas.so.3 libopenblas.so.0 liblapack.so.3; do
  target="$arch_dir/openblas-${BLAS_VARIANT}/$lib"
  name="$lib-$multiarch"
  if [ -e "$target" ] && update-alternatives --query "$name" >/dev/null 2>&1; then
    current="$(readlink -f "$arch_dir/$lib" || true)"
    if [ "$current" != "$(readlink -f "$target")" ]; then
      log "BLAS: $lib -> $target"
      $SUDO update-alternatives --set "$name" "$target" >/dev/null
    fi
  fi
done
log "BLAS in use: $(readlink -f "$arch_dir/libblas.so.3")"
log "done"
