#!/usr/bin/env bash
# README command 2: install dependencies, configure, build and run every test.
# Usage: scripts/test.sh   (env: BUILD_DIR=build, JOBS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-2}"

# The machine first: a result means little without the CPU it ran on (int8/bf16 paths and
# OpenBLAS kernels differ between AVX2-only and AVX-512 machines).
echo "[test] CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores)"
echo "[test] CPU flags: $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' | grep -E '^(sse4_2|avx|avx2|fma|avx512.*|avx_vnni|amx.*)$' | tr '\n' ' ')"
./scripts/setup.sh
echo "[test] configure ($BUILD_DIR, Release)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
echo "[test] build (-j$JOBS)"
cmake --build "$BUILD_DIR" -j"$JOBS"
echo "[test] ctest"
# Tests pin LibTorch to 2 threads so timings of CI machines do not change results.
OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" ctest --test-dir "$BUILD_DIR" --output-on-failure -j1
