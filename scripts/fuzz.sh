#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 + ASan + UBSan (build-fuzz/) and runs each one.
# Usage: scripts/fuzz.sh [RUNS]      RUNS executions per target (default 1000000)
#   env: MAX_TIME (seconds per target, instead of RUNS), JOBS (2), FUZZ_OUT (fuzz-out),
#        TARGETS (default: packet_decoder send_request image_request latent_stream hyper_stream; only these are built)
# Corpora grow in $FUZZ_OUT/corpus/<target> (seeded from tests/fuzz/corpus/<target>); crashes
# land in $FUZZ_OUT/crash-*. Copy a crash reproducer into tests/fuzz/corpus/<target>/ once it is
# fixed: the regular build replays that folder as a ctest (fuzz_replay_<target>).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-1000000}"
JOBS="${JOBS:-2}" FUZZ_OUT="${FUZZ_OUT:-fuzz-out}"
command -v clang++-14 >/dev/null || { echo "[fuzz] installing clang-14 and libfuzzer-14-dev"; sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo; $sudo_cmd apt-get install -y clang-14 libfuzzer-14-dev; }
echo "[fuzz] configure build-fuzz (clang-14, -fsanitize=fuzzer,address,undefined)"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 -DMT_FUZZ=ON \
  -DMT_BUILD_BENCH=OFF > /dev/null
TARGETS="${TARGETS:-packet_decoder send_request image_request latent_stream hyper_stream}"
cmake --build build-fuzz -j"$JOBS" --target $(for t in $TARGETS; do printf '%s_fuzzer ' "$t"; done)
mkdir -p "$FUZZ_OUT"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OMP_NUM_THREADS=1
status=0
for target in $TARGETS; do
  corpus="$FUZZ_OUT/corpus/$target"
  mkdir -p "$corpus"
  cp -n tests/fuzz/corpus/$target/* "$corpus/" 2>/dev/null || true
  limit=(-runs="$RUNS")
  [ -n "${MAX_TIME:-}" ] && limit=(-max_total_time="$MAX_TIME")
  echo "[fuzz] $target: ${limit[*]}"
  start=$(date +%s)
  if ! "build-fuzz/tests/fuzz/${target}_fuzzer" "$corpus" "${limit[@]}" -max_len=65536 -rss_limit_mb=4096 \
       -artifact_prefix="$FUZZ_OUT/crash-$target-" -print_final_stats=1 > "$FUZZ_OUT/$target.log" 2>&1; then
    echo "[fuzz] $target FOUND A CRASH: see $FUZZ_OUT/$target.log and $FUZZ_OUT/crash-$target-*" >&2
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$FUZZ_OUT/$target.log" | grep -o '[0-9]*$' || echo "?")
  echo "[fuzz] $target: $execs executions in $(( $(date +%s) - start )) s, corpus $(ls "$corpus" | wc -l) inputs"
done
exit $status
