#!/usr/bin/env bash
# README command 2: install dependencies, configure, build and run every test.
# Usage: scripts/test.sh   (env: BUILD_DIR=build, JOBS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-2}"

./scripts/setup.sh
echo "[test] configure ($BUILD_DIR, Release)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
echo "[test] build (-j$JOBS)"
cmake --build "$BUILD_DIR" -j"$JOBS"
echo "[test] ctest"
# Tests pin LibTorch to 2 threads so timings of CI machines do not change results.
OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" ctest --test-dir "$BUILD_DIR" --output-on-failure -j1
