#!/usr/bin/env bash
# GPU check: builds core + train against the CUDA LibTorch of the local PyTorch (scripts/gpu_build.sh),
# runs the *_CUDA tests, and a one-minute MAE training throughput run at the seed's CIFAR-10 size
# on synthetic images. Prints images/s for docs/RESULTS.md.
# Needs: cmake, a C++17 compiler, python3 with a CUDA torch, and .gpu-deps/ from
# scripts/gpu_deps.sh (or the Debian -dev packages installed).
# Usage: scripts/gpu_check.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build-cuda}"
[ -d .gpu-deps/root/usr ] && export LD_LIBRARY_PATH="$(pwd)/.gpu-deps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
scripts/gpu_build.sh "$BUILD" mt-train mt_core_tests
echo "[gpu] CUDA tests"
"$BUILD/tests/mt_core_tests" --gtest_filter='*_CUDA*:Attention*:Mae*:Masker*:Gumbel*'
echo "[gpu] one-minute MAE throughput (seed CIFAR-10 size, bf16 autocast, batch 512)"
"$BUILD/train/mt-train" fit --config configs/mae_throughput_synthetic.yaml \
  --trainer.default_root_dir "${OUT:-/tmp}/runs" 2>&1 | tee "${OUT:-/tmp}/gpu_throughput.log" | grep -E "img/s|stopped|training" | tail -5
