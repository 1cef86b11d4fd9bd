#!/usr/bin/env bash
# Configures and builds core + train (no gRPC, no OpenCV) against the CUDA LibTorch inside the
# local PyTorch install, with .gpu-deps/ (scripts/gpu_deps.sh) for Abseil, yaml-cpp and GoogleTest
# when the Debian -dev packages are not installed. No spdlog: its fmt clashes with LibTorch's.
# Usage: scripts/gpu_build.sh BUILD_DIR TARGET... (JOBS=N to limit parallelism)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:?usage: gpu_build.sh BUILD_DIR TARGET...}"
shift
PY="${PYTHON:-python3}"
TORCH_PREFIX="${TORCH_PREFIX:-$($PY -c 'import torch;print(torch.utils.cmake_prefix_path)')}"
read -r TORCH_VER ABI CXX_STD < <($PY -c 'import torch
v=tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
print(torch.__version__, int(torch._C._GLIBCXX_USE_CXX11_ABI), 20 if v >= (2, 13) else 17)')
echo "[gpu-build] torch $TORCH_VER, CXX11 ABI $ABI (Debian libraries use 1), C++$CXX_STD"
[ "$ABI" = 1 ] || echo "[gpu-build] WARNING: a pre-cxx11-ABI LibTorch cannot link Debian's C++ libraries"
# CMake 4 rejects old cmake_minimum_required lines in package configs; GCC 13 dropped the
# transitive <cstdint> that Abseil 20220623's headers rely on.
export CMAKE_POLICY_VERSION_MINIMUM=3.5
command -v nvcc > /dev/null || export PATH="/usr/local/cuda/bin:$PATH"
DEPS=""
[ -d .gpu-deps/root/usr ] && DEPS="$(pwd)/.gpu-deps/root/usr"
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMT_BUILD_IMAGING=OFF -DMT_BUILD_FRONTENDS=OFF \
    -DMT_BUILD_BENCH=OFF -DMT_USE_SPDLOG=OFF -DMT_SYSTEM_PYTHON3="$(command -v "$PY")" -DCMAKE_CXX_STANDARD="$CXX_STD" -DCMAKE_CXX_FLAGS="-include cstdint" -DCMAKE_PREFIX_PATH="$TORCH_PREFIX${DEPS:+;$DEPS}" \
    ${CUDACXX:+-DCMAKE_CUDA_COMPILER=$CUDACXX}
fi
cmake --build "$BUILD" -j"${JOBS:-$(nproc)}" --target "$@"
