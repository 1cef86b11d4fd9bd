#!/usr/bin/env bash
# Rate–distortion of the latent payload on the held-out photos (docs/RESULTS.md "Latent codec"):
# whole photos (every patch kept and the masker's half, 6 step levels) and 32×32 crops (latent
# vs pixels, masker/grid/random selections), against JPEG and WebP from the same bench; then the
# spatial-context entropy model against the factorized prior alone on the same codec weights.
# Usage: scripts/bench_latent_rd.sh [CODEC] [OUT] [TRAIN_CKPT]
#   defaults: weights/mae_codec.pt (the MAE-bottleneck codec), docs/rd, runs/codec_photos/version_0/checkpoints/best.pt (the
#   training checkpoint CODEC was exported from; the context-vs-factorized rows need it)
# Needs build/ (README) and data/photos (scripts/fetch_photos.sh). ~15 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
CODEC="${1:-weights/mae_codec.pt}" OUT="${2:-docs/rd}" BUILD="${BUILD_DIR:-build}"
TRAIN_CKPT="${3:-runs/codec_photos/version_0/checkpoints/best.pt}"
mkdir -p "$OUT"
bench=("$BUILD/client/mt-client" bench --codec_checkpoint "$CODEC" --threads 2)
echo "[rd] CPU flags: $(grep -o -w 'avx2\|avx512f\|avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "[rd] whole photos"
"${bench[@]}" --images data/photos/val --payloads latent --latent_keep_ratios 1.0,0.5 --nolatent_baselines \
  --latent_levels 0,2,4,6,8,11 --csv "$OUT/latent_full.csv" --report "$OUT/latent_full.md" --plot "$OUT/latent_full.png"
echo "[rd] 32x32 crops"
"${bench[@]}" --images data/photos/val --crop 32 --crops_per_image 16 --payloads latent,pixels \
  --latent_keep_ratios 0.25,0.5 --latent_levels 0,2,4,6,8,11 --csv "$OUT/latent_32px.csv" \
  --report "$OUT/latent_32px.md" --plot "$OUT/latent_32px.png"
if [ -f "$TRAIN_CKPT" ]; then
  echo "[rd] context model vs factorized prior (same weights: $TRAIN_CKPT exported without context tables)"
  factorized="$(mktemp -d)/codec_factorized.pt"
  "$BUILD/train/mt-train" export --ckpt_path "$TRAIN_CKPT" --out "$factorized" --context_data none > /dev/null
  for which in factorized context; do
    codec="$CODEC"; [ "$which" = factorized ] && codec="$factorized"
    "$BUILD/client/mt-client" bench --codec_checkpoint "$codec" --threads 2 --images data/photos/val --payloads latent \
      --latent_keep_ratios 1.0,0.5 --nolatent_baselines --latent_levels 3,6,9,11 \
      --csv "$OUT/latent_entropy_$which.csv" --report "$OUT/latent_entropy_$which.md"
  done
fi
echo "[rd] reports in $OUT"
