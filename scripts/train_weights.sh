#!/usr/bin/env bash
# Trains (or resumes) the shipped CPU models in the background-friendly way: the run lives in
# runs/shipped_<what>/version_0 and continues from its checkpoints/last.pt when present.
# Usage: nohup scripts/train_weights.sh mae > runs/mae.log 2>&1 &
#        nohup scripts/train_weights.sh masker > runs/masker.log 2>&1 &
# Extra arguments are passed to mt-train (e.g. --trainer.max_steps=40000).
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:?usage: train_weights.sh mae|masker [mt-train overrides]}"
shift
BUILD_DIR="${BUILD_DIR:-build}"
case "$what" in
  mae) config=configs/mae_config_photos_cpu.yaml ;;
  masker) config=configs/masker_config_photos_cpu.yaml ;;
  *) echo "unknown model '$what' (mae|masker)" >&2; exit 2 ;;
esac
[ -f data/photos/MANIFEST.tsv ] || ./scripts/fetch_photos.sh
run="runs/shipped_${what}/version_0"
resume=()
if [ -f "$run/checkpoints/last.pt" ]; then
  resume=(--ckpt_path "$run/checkpoints/last.pt")
  echo "[train] resuming $run"
else
  mkdir -p "runs/shipped_${what}"
  echo "[train] starting $run"
fi
exec "$BUILD_DIR/train/mt-train" fit --config "$config" --name "shipped_${what}" \
  --trainer.default_root_dir runs "${resume[@]}" "$@"
