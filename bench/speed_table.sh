#!/usr/bin/env bash
# Speed through both daemons (docs/RESULTS.md "Speed on real photos, session 9"): each photo x
# payload is sent twice to the same daemons (cold, then warm), printing the send report's row
# and the daemons' minor page faults for that send (/proc/PID/stat field 10).
# Usage: bench/speed_table.sh PHOTO... (e.g. data/photos/val/baboon.jpg photo1mp.jpg photo12mp.jpg)
# Env: PAYLOADS (default "latent pixels"), DAEMON_FLAGS (extra flags for both daemons), CLIENT_FLAGS
#      (extra mt-client send flags, e.g. --noquality),
#      SENDER_FLAGS (extra flags for the sender only, e.g. --masker_checkpoint), BUILD_DIR (build). Stop anything else using the CPU first (the numbers are wall time).
set -euo pipefail
cd "$(dirname "$0")/.."
B="${BUILD_DIR:-build}" out="$(mktemp -d)"
export OMP_WAIT_POLICY=passive
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-); flags: $(grep -o -w 'avx2\|avx512f\|avx512_bf16\|avx512_vnni\|avx_vnni\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
"$B/server/mt-receiver" --listen 127.0.0.1:50162 --output_dir "$out/rx" --threads 2 --overwrite ${DAEMON_FLAGS:-} > "$out/rx.log" 2>&1 & R=$!
"$B/server/mt-sender" --listen 127.0.0.1:50161 --receiver 127.0.0.1:50162 --threads 2 --max_queued_tiles 0 ${DAEMON_FLAGS:-} ${SENDER_FLAGS:-} > "$out/tx.log" 2>&1 & S=$!
trap 'kill $S $R 2>/dev/null; rm -rf "$out"' EXIT
sleep 4
faults() { awk '{print $10}' "/proc/$1/stat"; }
for img in "$@"; do for p in ${PAYLOADS:-latent pixels}; do for run in cold warm; do
  fs=$(faults $S) fr=$(faults $R)
  row=$("$B/client/mt-client" send "$img" --sender 127.0.0.1:50161 --payload "$p" --deadline_s 600 ${CLIENT_FLAGS:-} 2>&1 | grep -v -E '^(image|stored|payload|latent B)' | head -1)
  echo "$run $p $row | faults sender $(( $(faults $S) - fs )) receiver $(( $(faults $R) - fr ))"
done; done; done
grep VmHWM "/proc/$S/status" "/proc/$R/status"
