#!/usr/bin/env bash
# Trains the shipped MAE, then the shipped masker against it, on a GPU within a time budget:
# a short probe measures each task's images/s, max_steps is set so the whole warmup+decay
# schedule fits the budget (max_time stops it regardless), and the best checkpoints are
# exported (weights only) to OUT_DIR/mae.pt and OUT_DIR/masker.pt.
# Usage: scripts/gpu_train_weights.sh BUILD_DIR SECONDS CROPS_DIR OUT_DIR
#   CROPS_DIR from scripts/make_crop_file.py; RUNS=dir for the run folders (default /tmp/gpu-runs);
#   MAE_SHARE=percent of the budget for the MAE (default 55); BATCH (default 512); PROBE_S (default 20);
#   ACCELERATOR (default cuda: fail rather than train on the CPU by mistake).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:?usage}" BUDGET="${2:?usage}" CROPS="${3:?usage}" DEST="${4:?usage}"
RUNS="${RUNS:-/tmp/gpu-runs}" MAE_SHARE="${MAE_SHARE:-55}" BATCH="${BATCH:-512}" PROBE_S="${PROBE_S:-20}"
mkdir -p "$RUNS" "$DEST"
T0=$(date +%s)
left() { echo $((T0 + BUDGET - $(date +%s))); }
hms() { printf '00:00:%02d:%02d' $(($1 / 60)) $(($1 % 60)); }
rate() { grep -a 'throughput:' "$1" | grep -ao '[0-9.]* img/s' | tail -1 | cut -d' ' -f1; }
fit() {
  "$BUILD/train/mt-train" fit --trainer.default_root_dir "$RUNS" --data.init_args.data_dir="$CROPS" \
    --data.init_args.batch_size="$BATCH" --trainer.accelerator="${ACCELERATOR:-cuda}" "$@"
}
latest() { ls -d "$RUNS/$1"/version_* | sort -V | tail -1; }

# train CONFIG NAME SECONDS ANNEAL [overrides...]: probe the images/s, size the run to the
# budget, train. ANNEAL=1 sets the masker's temperature anneal to the first 80 % of the run.
train() {
  local config=$1 name=$2 seconds=$3 anneal=$4
  shift 4
  local run_s steps fixed=${STEPS[$name]:-}
  if [ -n "$fixed" ]; then
    run_s=$((seconds - 10)) steps=$fixed
  else
    fit --config "$config" --name "probe_$name" --trainer.max_steps=1000000 --trainer.val_every_n_steps=0 \
      --trainer.max_time="$(hms $PROBE_S)" "$@" > "$RUNS/probe_$name.log" 2>&1
    local r; r=$(rate "$RUNS/probe_$name.log")
    [ -n "$r" ] || { echo "[gpu-train] probe of $name failed:"; tail -20 "$RUNS/probe_$name.log"; return 1; }
    run_s=$((seconds - PROBE_S - 15))
    steps=$(python3 -c "print(max(100, int($r * $run_s * 0.95 / $BATCH)))")
  fi
  echo "[gpu-train] $name: $steps steps of $BATCH in at most ~${run_s} s"
  local extra=()
  [ "$anneal" = 1 ] && extra=(--model.init_args.temperature.final_step=$((steps * 8 / 10)))
  fit --config "$config" --name "$name" --trainer.max_steps="$steps" --trainer.val_every_n_steps=$((steps / 4)) \
    --trainer.max_time="$(hms $((run_s + 10)))" "${extra[@]}" "$@" > "$RUNS/$name.log" 2>&1
  local rc=$?
  tr '\r' '\n' < "$RUNS/$name.log" | grep -a -E "training|validation|stopped|done|error|100%" | tail -8
  return $rc
}

declare -A STEPS=([mae_gpu]="${MAE_STEPS:-}" [masker_gpu]="${MASKER_STEPS:-}")
train configs/mae_config_photos_gpu.yaml mae_gpu $(($(left) * MAE_SHARE / 100)) 0 || exit 1
"$BUILD/train/mt-train" export --ckpt_path "$(latest mae_gpu)/checkpoints/best.pt" --out "$DEST/mae.pt" || exit 1
train configs/masker_config_photos_gpu.yaml masker_gpu $(($(left) - 5)) 1 \
  --model.init_args.mae_checkpoint="$DEST/mae.pt" || exit 1
"$BUILD/train/mt-train" export --ckpt_path "$(latest masker_gpu)/checkpoints/best.pt" --out "$DEST/masker.pt" || exit 1
echo "[gpu-train] done in $(( $(date +%s) - T0 )) s"
