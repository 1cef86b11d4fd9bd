#!/usr/bin/env bash
# Scale-out on loopback as a user runs it: 3 receivers, 1 sender with --receiver listing all
# three, `mt-client load --verify`, and receiver 2 SIGKILLed mid-run and restarted on its port.
# Passes when every acknowledged image is on the disk of the receiver the reply named, with the
# acknowledged PNG's hash (bench/verify_stored.py), and every receiver stored a share.
# Usage: receivers_scale_out.sh SENDER RECEIVER CLIENT SOURCE_DIR
set -euo pipefail
SENDER="$1" RECEIVER="$2" CLIENT="$3" SRC="$4"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -n 15 "$tmp"/*.log >&2 || true; exit 1; }
export OMP_WAIT_POLICY=passive

read -r p1 p2 p3 sport < <(python3 -c 'import socket
s=[socket.socket() for _ in range(4)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
start_receiver() {  # index port
  "$RECEIVER" --listen "127.0.0.1:$2" --name "rx-$1" --mae_checkpoint "$SRC/weights/mae.pt" --output_dir "$tmp/out$1" \
    --threads 1 >> "$tmp/receiver$1.log" 2>&1 &
  echo $!
}
r1=$(start_receiver 1 "$p1"); r2=$(start_receiver 2 "$p2"); r3=$(start_receiver 3 "$p3")
pids+=("$r1" "$r2" "$r3")
"$SENDER" --listen "127.0.0.1:$sport" --receiver "127.0.0.1:$p1,127.0.0.1:$p2,127.0.0.1:$p3" \
  --mae_checkpoint "$SRC/weights/mae.pt" --masker_checkpoint "$SRC/weights/masker.pt" --threads 1 \
  > "$tmp/sender.log" 2>&1 &
pids+=($!)
healthy() { "$CLIENT" health --target "127.0.0.1:$1" --deadline_s 1 > /dev/null 2>&1; }
for i in $(seq 1 120); do
  healthy "$sport" && healthy "$p1" && healthy "$p2" && healthy "$p3" && break
  [ "$i" = 120 ] && fail "daemons not healthy after 30 s"
  sleep 0.25
done
python3 - "$tmp/pic.png" <<'PY'
import struct, sys, zlib
w, h = 64, 48
rows = b"".join(b"\x00" + bytes(v for x in range(w) for v in ((x * 3) % 256, (y * 5) % 256, (x * y) % 256))
                for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
"$CLIENT" load "$tmp/pic.png" --sender "127.0.0.1:$sport" --concurrency 4 --requests 240 --warmup 0s \
  --payload pixels --keep_ratio 0.25 --deadline_s 20 --verify --requests_csv "$tmp/requests.csv" \
  --csv "$tmp/load.csv" > "$tmp/load.log" 2>&1 &
load=$!
# Kill receiver 2 once it has stored a few images, then bring it back on the same port.
for i in $(seq 1 200); do
  [ "$(ls "$tmp/out2" 2>/dev/null | grep -c '\.png$')" -ge 10 ] && break
  sleep 0.05
done
kill -0 "$load" 2>/dev/null || fail "the load finished before receiver 2 was killed"
kill -9 "$r2"
wait "$r2" 2>/dev/null || true
sleep 1
r2=$(start_receiver 2 "$p2")
pids+=("$r2")
wait "$load" || fail "load exited with $?: $(cat "$tmp/load.log")"

python3 "$SRC/bench/verify_stored.py" "$tmp/requests.csv" | tee "$tmp/verify.txt" || fail "acknowledged images missing or corrupt"
python3 - "$tmp/requests.csv" "$tmp" <<'PY' || fail "bad share or receiver naming"
import collections, csv, os, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = [r for r in rows if r["code"] == "OK"]
if len(ok) < 0.9 * len(rows):
    sys.exit(f"only {len(ok)} of {len(rows)} requests acknowledged")
share = collections.Counter(r["receiver"].split(" at ")[0] for r in ok)
print("acknowledged per receiver:", dict(sorted(share.items())))
for k in (1, 2, 3):
    if share[f"rx-{k}"] < 10:
        sys.exit(f"rx-{k} stored only {share[f'rx-{k}']} images")
for r in ok:  # the reply names the receiver whose disk has the image
    name = r["receiver"].split(" at ")[0]
    if os.path.dirname(r["stored_path"]) != os.path.join(sys.argv[2], "out" + name[3:]):
        sys.exit(f"{r['id']}: stored at {r['stored_path']} but the reply names {r['receiver']}")
PY
grep -q "acknowledged 2[0-9][0-9]" "$tmp/verify.txt" || fail "too few acknowledged: $(cat "$tmp/verify.txt")"
echo "receivers scale-out test passed"
