#!/usr/bin/env bash
# Masker recipe sweep on one GPU: several masker trainings at once (the models are small and
# launch-bound, so they share the GPU well) against the shipped MAE, each exported to
# OUT_DIR/masker_<name>.pt for `mt-eval --masker` on the CPU machine. Why: the shipped masker beats
# random masking but not the uniform grid (weights/README.md); these are the recipe knobs left.
# Usage: scripts/gpu_masker_sweep.sh BUILD_DIR CROPS_DIR OUT_DIR [STEPS=3500] [MAE=weights/mae.pt]
#   (build with scripts/gpu_build.sh, crops with scripts/make_crop_file.py, as scripts/gpu_session.sh does)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:?usage}" CROPS="${2:?usage}" DEST="${3:?usage}" STEPS="${4:-3500}" MAE="${5:-weights/mae.pt}"
RUNS="${RUNS:-/tmp/sweep-runs}"
mkdir -p "$RUNS" "$DEST"
declare -A RECIPES=(
  [base]=""
  [hard]="--model.init_args.hard=true"
  [reg01]="--model.init_args.mean_reg=0.1"
  [reg005_hard]="--model.init_args.mean_reg=0.05 --model.init_args.hard=true"
  [tau01]="--model.init_args.temperature.final_value=0.1"
  [ent1e3]="--model.init_args.entropy_reg=1e-3"
  [cnn]="--model.init_args.kind=cnn"
)
pids=()
for name in "${!RECIPES[@]}"; do
  # shellcheck disable=SC2086
  "$BUILD/train/mt-train" fit --config configs/masker_config_photos_gpu.yaml --name "sweep_$name" \
    --trainer.default_root_dir "$RUNS" --data.init_args.data_dir="$CROPS" --data.init_args.num_workers=2 \
    --trainer.accelerator=cuda --trainer.max_steps="$STEPS" --trainer.val_every_n_steps=$((STEPS / 4)) \
    --model.init_args.mae_checkpoint="$MAE" --model.init_args.temperature.final_step=$((STEPS * 8 / 10)) \
    ${RECIPES[$name]} > "$RUNS/$name.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for name in "${!RECIPES[@]}"; do
  echo "== $name: ${RECIPES[$name]}"
  tr '\r' '\n' < "$RUNS/$name.log" | grep -a "validation at step" | tail -1
  ckpt="$(ls -d "$RUNS/sweep_$name"/version_* 2>/dev/null | sort -V | tail -1)/checkpoints/best.pt"
  [ -f "$ckpt" ] && "$BUILD/train/mt-train" export --ckpt_path "$ckpt" --out "$DEST/masker_$name.pt" > /dev/null
done
ls -la "$DEST"
