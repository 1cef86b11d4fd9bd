#!/usr/bin/env bash
# GPU check: builds core + train (no gRPC, no OpenCV) against the CUDA LibTorch inside the
# local PyTorch install, runs the *_CUDA tests, and a one-minute MAE training throughput run
# at the seed's CIFAR-10 size on synthetic images. Prints images/s for docs/RESULTS.md.
# Needs: cmake, a C++17 compiler, python3 with a CUDA torch, and .gpu-deps/ from
# scripts/gpu_deps.sh (or the Debian -dev packages installed).
# Usage: scripts/gpu_check.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build-cuda}"
PY="${PYTHON:-python3}"
TORCH_PREFIX="$($PY -c 'import torch;print(torch.utils.cmake_prefix_path)')"
ABI="$($PY -c 'import torch;print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')"
echo "[gpu] torch $($PY -c 'import torch;print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")')"
echo "[gpu] LibTorch CXX11 ABI = $ABI (Debian libraries use 1)"
[ "$ABI" = 1 ] || echo "[gpu] WARNING: pre-cxx11 ABI LibTorch cannot link Debian's C++ libraries"
DEPS=""
if [ -d .gpu-deps/root/usr ]; then
  DEPS="$(pwd)/.gpu-deps/root/usr"
  export LD_LIBRARY_PATH="$DEPS/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMT_BUILD_IMAGING=OFF -DMT_BUILD_FRONTENDS=OFF \
  -DMT_BUILD_BENCH=OFF -DCMAKE_PREFIX_PATH="$TORCH_PREFIX${DEPS:+;$DEPS}" ${CUDACXX:+-DCMAKE_CUDA_COMPILER=$CUDACXX}
cmake --build "$BUILD" -j"$(nproc)" --target mt-train mt_core_tests
echo "[gpu] CUDA tests"
"$BUILD/tests/mt_core_tests" --gtest_filter='*_CUDA*:Attention*:Mae*:Masker*:Gumbel*'
echo "[gpu] one-minute MAE throughput (seed CIFAR-10 size, bf16 autocast, batch 512)"
"$BUILD/train/mt-train" fit --config configs/mae_throughput_synthetic.yaml \
  --trainer.default_root_dir "${OUT:-/tmp}/runs" 2>&1 | tee "${OUT:-/tmp}/gpu_throughput.log" | grep -E "img/s|stopped|training" | tail -5
