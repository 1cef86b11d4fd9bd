#!/usr/bin/env bash
# Smoke test of the built daemons as a user runs them: --help, start with the shipped weights,
# health checks, a send (file lands in --output_dir), then SIGTERM: both exit 0.
# Usage: daemons_smoke.sh SENDER RECEIVER CLIENT SOURCE_DIR
set -euo pipefail
SENDER="$1" RECEIVER="$2" CLIENT="$3" SRC="$4"
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -n 20 "$tmp"/*.log >&2 || true; exit 1; }

# absl's --help exits 1 after printing; check what it prints.
for b in "$SENDER" "$RECEIVER" "$CLIENT"; do
  { "$b" --help 2>&1 || true; } | grep -q -- "--deadline_s\|--grace_s" || fail "$b --help lists no flags"
done
# The model paths are one set of flags shared by every binary; the receiver never reads the masker.
for b in "$SENDER" "$RECEIVER" "$CLIENT"; do
  { "$b" --help 2>&1 || true; } | grep -q -- "--mae_checkpoint" || fail "$b --help lists no --mae_checkpoint"
done
{ "$RECEIVER" --help 2>&1 || true; } | grep -q -- "--masker_checkpoint" && fail "mt-receiver has --masker_checkpoint"
# Renamed flags: the old name still works with one warning naming the new one (here the MAE loads
# through --checkpoint, then the missing codec stops the receiver); both names at once are refused.
"$RECEIVER" --listen 127.0.0.1:0 --checkpoint "$SRC/weights/mae.pt" --codec_checkpoint "$tmp/missing.pt" \
  --output_dir "$tmp/unused" > "$tmp/old_name.log" 2>&1 && fail "receiver started with a missing --codec_checkpoint"
grep -q -- "--checkpoint is deprecated.*use --mae_checkpoint" "$tmp/old_name.log" ||
  fail "no deprecation warning: $(cat "$tmp/old_name.log")"
grep -q -- "--codec_checkpoint" "$tmp/old_name.log" || fail "--checkpoint loaded no MAE: $(cat "$tmp/old_name.log")"
"$SENDER" --listen 127.0.0.1:0 --checkpoint "$SRC/weights/mae.pt" --mae_checkpoint "$SRC/weights/mae.pt" \
  > "$tmp/both_names.log" 2>&1 && fail "sender started with both --checkpoint and --mae_checkpoint"
grep -q -- "give only --mae_checkpoint" "$tmp/both_names.log" || fail "no conflict error: $(cat "$tmp/both_names.log")"
"$CLIENT" health --tls_cert a.pem --client_cert b.pem > "$tmp/client_names.log" 2>&1 && fail "client took both cert names"
grep -q -- "give only --client_cert" "$tmp/client_names.log" ||
  fail "no client conflict error: $(cat "$tmp/client_names.log")"
# A --codec_checkpoint that is given but missing stops the daemon at start-up, naming the flag.
"$RECEIVER" --listen 127.0.0.1:0 --mae_checkpoint "$SRC/weights/mae.pt" --codec_checkpoint "$tmp/missing.pt" \
  --output_dir "$tmp/unused" > "$tmp/bad_codec.log" 2>&1 && fail "receiver started with a missing --codec_checkpoint"
grep -q -- "--codec_checkpoint" "$tmp/bad_codec.log" || fail "no --codec_checkpoint error: $(cat "$tmp/bad_codec.log")"
read -r rport sport rmetrics smetrics < <(python3 -c 'import socket
s=[socket.socket() for _ in range(4)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
export OMP_WAIT_POLICY=passive
"$RECEIVER" --listen "127.0.0.1:$rport" --mae_checkpoint "$SRC/weights/mae.pt" --output_dir "$tmp/out" \
  --threads 1 --metrics_listen "127.0.0.1:$rmetrics" > "$tmp/receiver.log" 2>&1 &
pids+=($!)
"$SENDER" --listen "127.0.0.1:$sport" --receiver "127.0.0.1:$rport" --mae_checkpoint "$SRC/weights/mae.pt" \
  --masker_checkpoint "$SRC/weights/masker.pt" --threads 1 --metrics_listen "127.0.0.1:$smetrics" \
  > "$tmp/sender.log" 2>&1 &
pids+=($!)
for i in $(seq 1 120); do
  "$CLIENT" health --sender "127.0.0.1:$sport" --deadline_s 1 > /dev/null 2>&1 &&
    "$CLIENT" health --target "127.0.0.1:$rport" --deadline_s 1 > /dev/null 2>&1 && break
  [ "$i" = 120 ] && fail "daemons not healthy after 30 s"
  sleep 0.25
done
# A 70x45 test picture (not a multiple of the 32-pixel tile): a gradient with a square.
python3 - "$tmp/pic.png" <<'PY'
import struct, sys, zlib
w, h = 70, 45
rows = b"".join(b"\x00" + bytes(v for x in range(w) for v in
       ((x * 3) % 256, (y * 5) % 256, 200 if 20 <= x < 40 and 10 <= y < 30 else 40)) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
"$CLIENT" send "$tmp/pic.png" --sender "127.0.0.1:$sport" --keep_ratio 0.25 --payload pixels --out "$tmp/client" \
  > "$tmp/send.txt" || fail "send"
grep -q "^pic .* 70x45 " "$tmp/send.txt" || fail "no report row: $(cat "$tmp/send.txt")"
[ -s "$tmp/out/pic.png" ] || fail "receiver did not store pic.png"
[ -s "$tmp/client/grid.png" ] || fail "client wrote no grid.png"
"$CLIENT" info --sender "127.0.0.1:$sport" > "$tmp/info.txt" || fail "info"
grep -q "receiver .*connected" "$tmp/info.txt" || fail "info: $(cat "$tmp/info.txt")"
grep -q "^stored by .* at 127.0.0.1:$rport: 1 image" "$tmp/send.txt" || fail "send names no receiver: $(cat "$tmp/send.txt")"
# Prometheus metrics of both daemons count the one image (and one refused request).
"$CLIENT" send "$tmp/missing.png" --sender "127.0.0.1:$sport" > /dev/null 2>&1 || true
printf 'not an image' > "$tmp/bad.png"
"$CLIENT" send "$tmp/bad.png" --sender "127.0.0.1:$sport" > /dev/null 2>&1 && fail "a bad image was accepted"
python3 - "$smetrics" "$rmetrics" <<'PY' || fail "metrics"
import re, sys, urllib.request
def scrape(port):
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
def value(text, series):
    m = re.search("^" + re.escape(series) + r" (\S+)$", text, re.M)
    if not m:
        sys.exit(f"no {series} in:\n{text}")
    return float(m.group(1))
s, r = scrape(sys.argv[1]), scrape(sys.argv[2])
checks = [
    (value(s, 'mt_requests_total{role="sender",code="OK"}'), 1),
    (value(s, 'mt_requests_total{role="sender",code="INVALID_ARGUMENT"}'), 1),
    (value(s, 'mt_request_duration_seconds_count{role="sender"}'), 2),
    (value(s, 'mt_stage_duration_seconds_count{role="sender",stage="masker"}'), 1),
    (value(s, 'mt_stored_psnr_db_count{role="sender"}'), 1),
    (value(r, 'mt_requests_total{role="receiver",code="OK"}'), 1),
    (value(r, 'mt_stage_duration_seconds_count{role="receiver",stage="decoder"}'), 1),
]
for got, want in checks:
    if got != want:
        sys.exit(f"metric {got} != {want}")
if value(s, 'mt_wire_bytes_total{role="sender"}') != value(r, 'mt_wire_bytes_total{role="receiver"}'):
    sys.exit("sender and receiver disagree on wire bytes")
if value(s, 'mt_wire_bytes_total{role="sender"}') <= 0 or value(s, 'mt_queue_tiles{role="sender"}') != 0:
    sys.exit("wire bytes or queue gauge wrong")
print("metrics ok")
PY
# Without a codec file at the default path both run with payload latent off, and say so.
if [ ! -e weights/codec.pt ]; then
  grep -q "payload 'latent' disabled" "$tmp/sender.log" || fail "sender did not log that latent is off"
  grep -q "^codec  *none" "$tmp/info.txt" || fail "info shows no codec line: $(cat "$tmp/info.txt")"
fi
# A stalled receiver (SIGSTOP): the client's deadline is honoured, and the sender still shuts
# down within its --grace_s (10 s) with a request stuck on the stalled stream.
kill -STOP "${pids[0]}"
t0=$(date +%s.%N)
"$CLIENT" send "$tmp/pic.png" --sender "127.0.0.1:$sport" --keep_ratio 0.25 --payload pixels --deadline_s 2 \
  > "$tmp/stalled.txt" 2>&1 && fail "a send to a stalled receiver succeeded"
took=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$(date +%s.%N)")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 4.5 else 1)" "$took" || fail "2 s deadline took ${took} s"
grep -qi "deadline" "$tmp/stalled.txt" || fail "no DEADLINE_EXCEEDED: $(cat "$tmp/stalled.txt")"
"$CLIENT" send "$tmp/pic.png" --sender "127.0.0.1:$sport" --payload pixels --deadline_s 30 > /dev/null 2>&1 &
stuck=$!
sleep 0.5
t0=$(date +%s.%N)
kill -TERM "${pids[1]}"
wait "${pids[1]}" || fail "sender exited with $? while the receiver was stalled"
took=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$(date +%s.%N)")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 12 else 1)" "$took" || fail "sender SIGTERM took ${took} s"
wait "$stuck" 2>/dev/null || true
kill -CONT "${pids[0]}"
kill -TERM "${pids[0]}"
wait "${pids[0]}" || fail "receiver exited with $?"
pids=()
grep -q "bye" "$tmp/sender.log" && grep -q "bye" "$tmp/receiver.log" || fail "no graceful shutdown message"
echo "daemons smoke test passed"
