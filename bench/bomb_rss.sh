#!/usr/bin/env bash
# Sender RSS during N concurrent "bomb-style" requests (issue "hardening": never above the
# limits you configure, e.g. < 1 GiB): N different 4000x4000 all-black PNGs (~47 KB each, 16 MP,
# just under the default --max_pixels) sent at once with --payload pixels. Prints the sender's
# RSS every 0.5 s, its peak (VmHWM), and how the requests ended.
# Usage: bench/bomb_rss.sh [N=20]   Env: DAEMON_FLAGS, SENDER_FLAGS, BUILD_DIR (build).
set -euo pipefail
cd "$(dirname "$0")/.."
B="${BUILD_DIR:-build}" out="$(mktemp -d)" n="${1:-20}"
convert -size 4000x4000 xc:black -define png:compression-level=9 "$out/bomb.png"
for i in $(seq 1 "$n"); do cp "$out/bomb.png" "$out/bomb$i.png"; done
echo "image: $(stat -c %s "$out/bomb.png") bytes, 4000x4000; $n at once"
"$B/server/mt-receiver" --listen 127.0.0.1:50212 --output_dir "$out/rx" --threads 2 --overwrite ${DAEMON_FLAGS:-} > "$out/rx.log" 2>&1 & R=$!
"$B/server/mt-sender" --listen 127.0.0.1:50211 --receiver 127.0.0.1:50212 --threads 2 ${DAEMON_FLAGS:-} ${SENDER_FLAGS:-} > "$out/tx.log" 2>&1 & S=$!
trap 'kill $S $R 2>/dev/null; rm -rf "$out"' EXIT
sleep 4
echo "sender RSS before: $(awk '/VmRSS/ {print $2 " kB"}' /proc/$S/status)"
clients=()
for i in $(seq 1 "$n"); do
  "$B/client/mt-client" send "$out/bomb$i.png" --sender 127.0.0.1:50211 --payload pixels --deadline_s 300 > "$out/c$i.txt" 2>&1 &
  clients+=($!)
done
while kill -0 "${clients[@]}" 2>/dev/null; do
  sleep 0.5; echo "  sender RSS $(awk '/VmRSS/ {print $2}' /proc/$S/status) kB"
done | awk 'NR % 4 == 1'
wait "${clients[@]}" || true
echo "sender peak: $(awk '/VmHWM/ {print $2 " kB"}' /proc/$S/status); receiver peak: $(awk '/VmHWM/ {print $2 " kB"}' /proc/$R/status)"
echo "outcomes:"; cat "$out"/c*.txt | grep -o -E '^bomb[0-9]+ +[0-9]+x[0-9]+|[A-Z_]{8,}: [^(]{0,80}' | sed -E 's/^bomb[0-9]+ +/stored /' | sort | uniq -c
