#!/usr/bin/env bash
# Rate–distortion of the conv transform codec on the held-out photos at full size (docs/RESULTS.md
# "Conv codec"), against JPEG and WebP from the same bench: the exported codec with its spatial-
# context tables, the same weights with the factorized prior's tables only, and (when the corpus
# exists) the corpus's held-out photos too.
# Usage: scripts/bench_conv_codec.sh TRAIN_CKPT [OUT] [CONTEXT_DATA]
#   writes OUT/conv_codec.pt (context tables fitted to CONTEXT_DATA, default data/corpus/train),
#   OUT/conv_full.{csv,md,png}, OUT/conv_factorized.{csv,md} and OUT/conv_corpus_val.{csv,md,png}.
# Needs build/ (README), data/photos (scripts/fetch_photos.sh); ~15 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN_CKPT="$1" OUT="${2:-docs/rd}" CONTEXT="${3:-data/corpus/train}" BUILD="${BUILD_DIR:-build}"
[ -d "$CONTEXT" ] || CONTEXT=data/photos/train
mkdir -p "$OUT"
echo "[conv] CPU flags: $(grep -o -w 'avx2\|avx512f\|avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
"$BUILD/train/mt-train" export --ckpt_path "$TRAIN_CKPT" --out "$OUT/conv_codec.pt" --context_data "$CONTEXT"
"$BUILD/train/mt-train" export --ckpt_path "$TRAIN_CKPT" --out "$OUT/conv_codec_factorized.pt" --context_data none
bench() { "$BUILD/client/mt-client" bench --threads 2 --payloads latent "$@"; }
echo "[conv] whole held-out photos, context tables"
bench --codec_checkpoint "$OUT/conv_codec.pt" --images data/photos/val \
  --csv "$OUT/conv_full.csv" --report "$OUT/conv_full.md" --plot "$OUT/conv_full.png"
echo "[conv] same weights, factorized tables only"
bench --codec_checkpoint "$OUT/conv_codec_factorized.pt" --images data/photos/val \
  --csv "$OUT/conv_factorized.csv" --report "$OUT/conv_factorized.md"
if [ -d data/corpus/val ]; then
  echo "[conv] the corpus's held-out photos (scripts/fetch_corpus.sh)"
  bench --codec_checkpoint "$OUT/conv_codec.pt" --images data/corpus/val \
    --csv "$OUT/conv_corpus_val.csv" --report "$OUT/conv_corpus_val.md" --plot "$OUT/conv_corpus_val.png"
fi
echo "[conv] reports in $OUT"
