#!/usr/bin/env bash
# Prepares .gpu-deps/: Debian 12 packages the trainer needs (Abseil, yaml-cpp, GoogleTest), downloaded with apt-get and extracted with dpkg -x — no install, no root —
# so a GPU machine without Debian -dev libraries can build core + train against the CUDA
# LibTorch of its PyTorch. Run here, then carry .gpu-deps to the GPU box (scripts/gpu_check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="${1:-.gpu-deps}"
# No spdlog/fmt: LibTorch 2.x bundles its own fmt, so the GPU build uses the built-in logger.
PKGS=(libabsl-dev libabsl20220623 libyaml-cpp-dev libyaml-cpp0.7 libgtest-dev libgmock-dev)
mkdir -p "$DEST/debs"
( cd "$DEST/debs" && apt-get download -q "${PKGS[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true )
for deb in "$DEST"/debs/*.deb; do dpkg -x "$deb" "$DEST/root"; done
rm -rf "$DEST/debs"
# Debian's CMake configs point at /usr; rewrite to the extracted tree.
grep -rl '/usr/lib/x86_64-linux-gnu\|"/usr/include' "$DEST/root/usr/lib/x86_64-linux-gnu/cmake" 2>/dev/null | \
  xargs -r sed -i "s#\([\" ;]\)/usr/#\1$(cd "$DEST/root" && pwd)/usr/#g"
echo "[gpu-deps] $(du -sh "$DEST" | cut -f1) in $DEST (prefix: $DEST/root/usr)"
