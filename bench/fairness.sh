#!/usr/bin/env bash
# Small requests while a 12 MP photo is processed (docs/RESULTS.md "Fair scheduling"; issue
# "hardening": p99 within 2x of its value without the photo). Starts both daemons, runs
# `mt-client load --crop 32 --concurrency 4` alone, then again 3 s into a --payload pixels send
# of PHOTO, and prints both load tables, the photo's send row and the p99 ratio.
# Usage: bench/fairness.sh PHOTO [SECONDS]   (e.g. photo12mp.jpg 15)
# Env: DAEMON_FLAGS (both daemons), SENDER_FLAGS (sender only), LOAD_FLAGS (the small requests',
#      e.g. --payload pixels; default: the client's defaults), WARM=1 (send PHOTO once before the
#      measurement, so the daemons' heaps already hold a 12 MP request), BUILD_DIR (build).
# Stop anything else using the CPU first (the numbers are wall time).
set -euo pipefail
cd "$(dirname "$0")/.."
B="${BUILD_DIR:-build}" out="$(mktemp -d)" photo="$1" secs="${2:-15}"
echo "CPU flags: $(grep -o -w 'avx2\|avx512f\|avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
"$B/server/mt-receiver" --listen 127.0.0.1:50182 --output_dir "$out/rx" --threads 2 --overwrite ${DAEMON_FLAGS:-} > "$out/rx.log" 2>&1 & R=$!
"$B/server/mt-sender" --listen 127.0.0.1:50181 --receiver 127.0.0.1:50182 --threads 2 --max_queued_tiles 0 \
  ${DAEMON_FLAGS:-} ${SENDER_FLAGS:-} > "$out/tx.log" 2>&1 & S=$!
trap 'kill $S $R 2>/dev/null; rm -rf "$out"' EXIT
sleep 4
if [ "${WARM:-0}" = 1 ]; then
  "$B/client/mt-client" send "$photo" --sender 127.0.0.1:50181 --payload pixels --deadline_s 600 > /dev/null 2>&1
fi
load() { "$B/client/mt-client" load data/photos/val --crop 32 --concurrency 4 --duration "${secs}s" \
           --sender 127.0.0.1:50181 --csv "$out/$1.csv" ${LOAD_FLAGS:-} 2>/dev/null | grep -E '^\|'; }
echo "## alone"; load alone
"$B/client/mt-client" send "$photo" --sender 127.0.0.1:50181 --payload pixels --deadline_s 600 > "$out/photo.txt" 2>&1 & P=$!
sleep 3
echo "## during the photo"; load during
wait $P || true
echo "## the photo"; grep -v -E '^(image|stored|payload|latent B)' "$out/photo.txt" | head -3
p99() { awk -F, 'NR == 2 {print $9}' "$out/$1.csv"; }
echo "p99 alone $(p99 alone) ms, during $(p99 during) ms, ratio $(awk -v a="$(p99 alone)" -v d="$(p99 during)" 'BEGIN {printf "%.2f", d / a}')"
