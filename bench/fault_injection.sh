#!/usr/bin/env bash
# Fault injection on loopback (docs/RELIABILITY.md). Three scenarios, each under closed-loop load
# from `mt-client load --verify` (32x32 crops, concurrency 8), then bench/verify_stored.py checks
# that every acknowledged image is on the receiver's disk with the acknowledged bytes:
#   receiver-kill  SIGKILL the receiver mid-run, restart it 2 s later
#   sender-kill    SIGKILL the sender mid-run, restart it 2 s later (the client sees UNAVAILABLE)
#   sender-term    SIGTERM the sender mid-run: in-flight requests must finish (no CANCELLED/INTERNAL)
# Usage: bench/fault_injection.sh OUT_DIR [scenario...]   (default: all three)
#   env: BUILD_DIR (build), DURATION (12s), KILL_AT (4), CONCURRENCY (8)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:?usage: bench/fault_injection.sh OUT_DIR [receiver-kill|sender-kill|sender-term...]}"
shift
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(receiver-kill sender-kill sender-term)
BUILD_DIR="${BUILD_DIR:-build}" DURATION="${DURATION:-12s}" KILL_AT="${KILL_AT:-4}" CONCURRENCY="${CONCURRENCY:-8}"
SPORT=50071 RPORT=50072
client="$BUILD_DIR/client/mt-client"
export OMP_WAIT_POLICY=passive
mkdir -p "$OUT"

receiver_pid="" sender_pid=""
start_receiver() {
  "$BUILD_DIR/server/mt-receiver" --listen "127.0.0.1:$RPORT" --mae_checkpoint weights/mae.pt --output_dir "$dir/received" \
    --threads 1 >> "$dir/receiver.log" 2>&1 &
  receiver_pid=$!
}
start_sender() {
  "$BUILD_DIR/server/mt-sender" --listen "127.0.0.1:$SPORT" --receiver "127.0.0.1:$RPORT" --mae_checkpoint weights/mae.pt \
    --masker_checkpoint weights/masker.pt --threads 1 --grace_s 10 >> "$dir/sender.log" 2>&1 &
  sender_pid=$!
}
wait_healthy() {
  for _ in $(seq 1 100); do
    "$client" health --sender "127.0.0.1:$SPORT" --deadline_s 1 >/dev/null 2>&1 &&
      "$client" health --target "127.0.0.1:$RPORT" --deadline_s 1 >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "daemons not healthy" >&2
  return 1
}
cleanup() { kill -9 "$receiver_pid" "$sender_pid" 2>/dev/null || true; }
trap cleanup EXIT

status=0
for scenario in "${scenarios[@]}"; do
  dir="$OUT/$scenario"
  rm -rf "$dir" && mkdir -p "$dir/received"
  start_receiver
  start_sender
  wait_healthy
  echo "[fault] $scenario: load for $DURATION at concurrency $CONCURRENCY, fault at ${KILL_AT}s"
  "$client" load data/photos/val --crop 32 --crops_per_image 16 --sender "127.0.0.1:$SPORT" --concurrency "$CONCURRENCY" \
    --duration "$DURATION" --warmup 0s --verify --deadline_s 10 --id_prefix "$scenario" \
    --requests_csv "$dir/requests.csv" --csv "$dir/load.csv" > "$dir/load.md" 2> "$dir/load.err" &
  load_pid=$!
  sleep "$KILL_AT"
  case "$scenario" in
    receiver-kill)
      kill -9 "$receiver_pid"; wait "$receiver_pid" 2>/dev/null || true
      echo "[fault]   receiver SIGKILLed at ${KILL_AT}s; restarting in 2 s"
      sleep 2; start_receiver ;;
    sender-kill)
      kill -9 "$sender_pid"; wait "$sender_pid" 2>/dev/null || true
      echo "[fault]   sender SIGKILLed at ${KILL_AT}s; restarting in 2 s"
      sleep 2; start_sender ;;
    sender-term)
      kill -TERM "$sender_pid"
      t0=$(date +%s.%N)
      wait "$sender_pid"; rc=$?
      echo "[fault]   sender SIGTERM at ${KILL_AT}s: exited $rc after $(echo "$(date +%s.%N) - $t0" | bc) s; restarting"
      start_sender ;;
  esac
  wait "$load_pid" || true
  kill -TERM "$sender_pid" "$receiver_pid" 2>/dev/null || true
  wait "$sender_pid" "$receiver_pid" 2>/dev/null || true
  /usr/bin/python3 bench/verify_stored.py "$dir/requests.csv" --received "$dir/received" | tee "$dir/verify.txt" ||
    status=1
  if [ "$scenario" = sender-term ] && grep -qE ',(CANCELLED|INTERNAL),' "$dir/requests.csv"; then
    echo "[fault]   FAIL: requests in flight at SIGTERM were cancelled" >&2
    status=1
  fi
done
exit $status
