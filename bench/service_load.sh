#!/usr/bin/env bash
# Service performance: starts mt-receiver + mt-sender on loopback with the shipped weights, runs
# `mt-client load` against them (RSS of both daemons sampled), stops them, leaves CSVs behind.
# Usage: bench/service_load.sh OUT_DIR [mt-client load flags...]
#   env: MAX_BATCH (default 16; 1 = no dynamic batching), DAEMON_THREADS (default 1; or
#        SENDER_THREADS / RECEIVER_THREADS), SENDER_WORKERS / RECEIVER_WORKERS (batch workers; 2 / 1:
#        the sender holds ~3/4 of the FLOPs, so two 1-thread sender workers + the receiver fill 2 cores),
#        COMPUTE (fp32 | bf16, both daemons' --compute; default fp32),
#        SENDER_PORT/RECEIVER_PORT (default 50061/50062), BUILD_DIR (default build)
# Default load: 32x32 crops of the held-out photos, concurrency 1,4,16,32, 20 s per level.
# Example: MAX_BATCH=1 bench/service_load.sh bench-out/nobatch --duration 10s
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:?usage: bench/service_load.sh OUT_DIR [mt-client load flags]}"
shift
BUILD_DIR="${BUILD_DIR:-build}"
SENDER_PORT="${SENDER_PORT:-50061}" RECEIVER_PORT="${RECEIVER_PORT:-50062}"
MAX_BATCH="${MAX_BATCH:-16}" DAEMON_THREADS="${DAEMON_THREADS:-1}"
SENDER_THREADS="${SENDER_THREADS:-$DAEMON_THREADS}" RECEIVER_THREADS="${RECEIVER_THREADS:-$DAEMON_THREADS}"
SENDER_WORKERS="${SENDER_WORKERS:-2}" RECEIVER_WORKERS="${RECEIVER_WORKERS:-1}" COMPUTE="${COMPUTE:-fp32}"
mkdir -p "$OUT"
rm -rf "$OUT/received"
export OMP_WAIT_POLICY=passive  # two LibTorch processes share the cores
pids=()
stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT
"$BUILD_DIR/server/mt-receiver" --listen "127.0.0.1:$RECEIVER_PORT" --mae_checkpoint weights/mae.pt \
  --output_dir "$OUT/received" --threads "$RECEIVER_THREADS" --max_batch "$MAX_BATCH" \
  --batch_workers "$RECEIVER_WORKERS" --compute "$COMPUTE" > "$OUT/receiver.log" 2>&1 &
pids+=($!)
receiver_pid=$!
"$BUILD_DIR/server/mt-sender" --listen "127.0.0.1:$SENDER_PORT" --receiver "127.0.0.1:$RECEIVER_PORT" \
  --mae_checkpoint weights/mae.pt --masker_checkpoint weights/masker.pt --threads "$SENDER_THREADS" \
  --max_batch "$MAX_BATCH" --batch_workers "$SENDER_WORKERS" --compute "$COMPUTE" > "$OUT/sender.log" 2>&1 &
pids+=($!)
sender_pid=$!
client="$BUILD_DIR/client/mt-client"
for i in $(seq 1 60); do
  if "$client" health --sender "127.0.0.1:$SENDER_PORT" --deadline_s 1 > /dev/null 2>&1 &&
     "$client" health --target "127.0.0.1:$RECEIVER_PORT" --deadline_s 1 > /dev/null 2>&1; then break; fi
  [ "$i" = 60 ] && { echo "daemons did not become healthy; logs in $OUT/" >&2; exit 1; }
  sleep 0.5
done
echo "[load] compute $COMPUTE, max_batch $MAX_BATCH, workers sender $SENDER_WORKERS / receiver $RECEIVER_WORKERS, threads sender $SENDER_THREADS / receiver $RECEIVER_THREADS, sender pid $sender_pid, receiver pid $receiver_pid" >&2
status=0
"$client" load data/photos/val --crop 32 --crops_per_image 16 --sender "127.0.0.1:$SENDER_PORT" \
  --watch "sender=$sender_pid,receiver=$receiver_pid" --csv "$OUT/load.csv" --rss_csv "$OUT/rss.csv" \
  --requests_csv "$OUT/requests.csv" "$@" | tee "$OUT/load.md" || status=$?
stop
trap - EXIT
exit $status
