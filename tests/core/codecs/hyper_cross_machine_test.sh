#!/usr/bin/env bash
# The hyperprior codecs (alone, and with the checkerboard context, whichever weights exist) decode
# identically under other BLAS kernels and thread counts: photos are
# encoded (and decoded) by one process with OpenBLAS's Haswell kernels (AVX2/FMA) and 2 threads,
# then decoded by another with its Prescott kernels (SSE3) and 1 thread; every latent must match
# bit for bit, and the stream's checksum of the sender's means and table indices must hold.
# Photos: data/photos/val when fetched (scripts/fetch_photos.sh), else three synthetic ones.
# Usage: hyper_cross_machine_test.sh TOOL SOURCE_DIR   (exit 77: skipped, no hyperprior weights)
set -euo pipefail
TOOL="$1" SRC="$2"
codecs=()
for name in conv_hyper_codec conv_hyper_checkerboard_codec; do
  [ -f "$SRC/weights/$name.pt" ] && codecs+=("$SRC/weights/$name.pt")
done
[ "${#codecs[@]}" -gt 0 ] || { echo "SKIP: no hyperprior weights in $SRC/weights"; exit 77; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
photos=()
if compgen -G "$SRC/data/photos/val/*.jpg" > /dev/null; then
  photos=("$SRC"/data/photos/val/*.jpg)
else
  python3 - "$tmp" <<'PY'
import math, random, struct, sys, zlib
random.seed(3)
def png(path, w, h, f):
    rows = b"".join(b"\x00" + bytes(min(255, max(0, int(v))) for x in range(w) for v in f(x, y)) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
noise = [random.gauss(0, 12) for _ in range(4096)]
png(sys.argv[1] + "/a.png", 300, 200, lambda x, y: (128 + 100 * math.sin(x / 17) + noise[(x * 7 + y) % 4096],
                                                    90 + y / 3, 200 - x / 3 + noise[(x + y * 13) % 4096]))
png(sys.argv[1] + "/b.png", 530, 130, lambda x, y: ((x ^ y) & 255, 255 * ((x // 20 + y // 20) % 2), x % 256))
png(sys.argv[1] + "/c.png", 64, 600, lambda x, y: (noise[(x * 31 + y * 17) % 4096] * 5 + 128, y % 256, 60))
PY
  photos=("$tmp"/a.png "$tmp"/b.png "$tmp"/c.png)
fi
mkdir -p "$tmp/out"
for CODEC in "${codecs[@]}"; do
echo "== $(basename "$CODEC")"
for level in 0 4 9; do
  OPENBLAS_CORETYPE=Haswell OMP_NUM_THREADS=2 MT_BLAS_CORE_CHECKED=1 \
    "$TOOL" encode "$CODEC" "$level" "$tmp/out" "${photos[@]}" > "$tmp/encode.txt"
  OPENBLAS_CORETYPE=Prescott OMP_NUM_THREADS=1 MT_BLAS_CORE_CHECKED=1 \
    "$TOOL" decode "$CODEC" "$level" "$tmp/out" "${photos[@]}" > "$tmp/decode.txt" ||
    { cat "$tmp/encode.txt" "$tmp/decode.txt"; echo "FAIL: level $level decodes differently"; exit 1; }
  cat "$tmp/encode.txt" "$tmp/decode.txt"
  # The two runs really used different kernels and threads (where the BLAS is OpenBLAS).
  head -1 "$tmp/encode.txt" | grep -q "2 threads" || { echo "FAIL: encoder not on 2 threads"; exit 1; }
  head -1 "$tmp/decode.txt" | grep -q "1 threads" || { echo "FAIL: decoder not on 1 thread"; exit 1; }
  if head -1 "$tmp/encode.txt" | grep -qi "kernels ''"; then echo "note: the BLAS is not OpenBLAS"; else
    head -1 "$tmp/encode.txt" | grep -qi "haswell" || { echo "FAIL: encoder kernels not Haswell"; exit 1; }
    head -1 "$tmp/decode.txt" | grep -qi "prescott" || { echo "FAIL: decoder kernels not Prescott"; exit 1; }
  fi
  [ "$(grep -c "identical bit for bit" "$tmp/decode.txt")" = "${#photos[@]}" ] || { echo "FAIL: level $level"; exit 1; }
done
done
echo "PASS: ${#codecs[@]} codecs x ${#photos[@]} photos x 3 levels decode bit for bit across kernels and threads"
