#!/usr/bin/env bash
# README command 1: on a fresh Debian 12, set up and build if needed, start mt-receiver and
# mt-sender on loopback with the shipped weights, send the held-out sample photos through them,
# print the per-image table, write reconstructions and a visualisation grid
# (latent: original | bits per latent position | reconstruction | |error|) to demo-out/, and stop the daemons.
# Usage: scripts/demo.sh [extra mt-client send flags, e.g. --keep_ratio 0.3 --payload pixels]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
SENDER_PORT="${SENDER_PORT:-50051}" RECEIVER_PORT="${RECEIVER_PORT:-50052}"
OUT=demo-out
./scripts/setup.sh
echo "[demo] configure + build the daemons and the client ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target mt-client mt-sender mt-receiver
./scripts/fetch_photos.sh
for w in weights/mae.pt weights/masker.pt weights/codec.pt; do [ -f "$w" ] || { echo "[demo] missing $w" >&2; exit 1; }; done

rm -rf "$OUT" && mkdir -p "$OUT/received"
# Two LibTorch processes share the cores (they take turns per image): no OpenMP spinning.
export OMP_WAIT_POLICY=passive
pids=()
stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT
"$BUILD_DIR/server/mt-receiver" --listen "127.0.0.1:$RECEIVER_PORT" --mae_checkpoint weights/mae.pt \
  --codec_checkpoint weights/codec.pt \
  --output_dir "$OUT/received" --threads 2 --overwrite > "$OUT/receiver.log" 2>&1 &  # fruits is sent 6 times
pids+=($!)
"$BUILD_DIR/server/mt-sender" --listen "127.0.0.1:$SENDER_PORT" --receiver "127.0.0.1:$RECEIVER_PORT" \
  --mae_checkpoint weights/mae.pt --masker_checkpoint weights/masker.pt --codec_checkpoint weights/codec.pt \
  --threads 2 > "$OUT/sender.log" 2>&1 &
pids+=($!)
client="$BUILD_DIR/client/mt-client"
for i in $(seq 1 60); do
  if "$client" health --sender "127.0.0.1:$SENDER_PORT" --deadline_s 1 > /dev/null 2>&1 &&
     "$client" health --target "127.0.0.1:$RECEIVER_PORT" --deadline_s 1 > /dev/null 2>&1; then break; fi
  [ "$i" = 60 ] && { echo "[demo] daemons did not become healthy; logs in $OUT/" >&2; tail -5 "$OUT"/*.log >&2; exit 1; }
  sleep 0.5
done
"$client" info --sender "127.0.0.1:$SENDER_PORT" 2>/dev/null | sed 's/^/[demo] /'

# The payload that measures best on the held-out photos (docs/RESULTS.md, "Latent codec").
DEMO_PAYLOAD=(${DEMO_PAYLOAD:---payload latent})
echo "[demo] sending the held-out photos (data/photos/val), full size:" \
     "${DEMO_PAYLOAD[*]} (compare 'wire B' with 'file B', the photo's own JPEG)"
status=0
"$client" send data/photos/val/* --sender "127.0.0.1:$SENDER_PORT" --out "$OUT" "${DEMO_PAYLOAD[@]}" "$@" || status=1
echo "[demo] payload modes on one photo (latent: entropy-coded; features: raw tokens, larger than the pixels)"
for mode in "latent" "latent --latent_level 6" "latent --target_psnr 28" "latent --max_bytes 12000" \
            "features --precision fp16" "features+pixels --precision int8" "pixels"; do
  # shellcheck disable=SC2086
  "$client" send data/photos/val/fruits.jpg --sender "127.0.0.1:$SENDER_PORT" --payload $mode | sed -n '2p;$p' ||
    status=1
done
stop
trap - EXIT
echo "[demo] daemons stopped; receiver stored $(ls "$OUT/received" | wc -l) images in $OUT/received/"
echo "[demo] outputs: $OUT/grid.png, $OUT/<id>_recon.png, $OUT/sender.log, $OUT/receiver.log"
exit $status
