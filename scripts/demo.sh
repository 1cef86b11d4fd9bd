#!/usr/bin/env bash
# README command 1: set up, build, fetch the sample photos, and reconstruct the held-out
# photos in-process with the masker + MAE. Writes demo-out/ (per-image grids and grid.png).
# Uses the shipped weights in weights/ when present; otherwise untrained models (says so).
# Usage: scripts/demo.sh [extra mt-client flags, e.g. --keep_ratio 0.16]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
./scripts/setup.sh
echo "[demo] configure + build mt-client ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target mt-client
./scripts/fetch_photos.sh
weights=()
[ -f weights/mae.pt ] && weights+=(--mae_checkpoint weights/mae.pt)
[ -f weights/masker.pt ] && weights+=(--masker_checkpoint weights/masker.pt)
echo "[demo] reconstructing the held-out photos (data/photos/val) into demo-out/"
"$BUILD_DIR/client/mt-client" local data/photos/val/* --out demo-out --context full "${weights[@]}" "$@"
