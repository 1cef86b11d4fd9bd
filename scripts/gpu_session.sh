#!/usr/bin/env bash
# Everything a lent GPU is for, in one time-boxed script (the device tool runs it once):
#   1. build mt-train against the CUDA LibTorch of the local PyTorch (scripts/gpu_build.sh);
#   2. write photo crops (scripts/make_crop_file.py) while it builds;
#   3. train the shipped MAE and masker (scripts/gpu_train_weights.sh) — tests build meanwhile;
#   4. run the *_CUDA tests, then the one-minute throughput run at the seed's CIFAR-10 MAE size.
# Results go to $OUT: mae.pt, masker.pt, session.log, logs.tar.gz (run folders without checkpoints).
# Usage: OUT=dir scripts/gpu_session.sh [TOTAL_SECONDS=560]
set -uo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s) TOTAL="${1:-560}"
OUT="${OUT:-/tmp/gpu-out}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/session.log") 2>&1
left() { echo $((T0 + TOTAL - $(date +%s))); }
stamp() { echo "== [$(($(date +%s) - T0)) s] $*"; }
[ -d .gpu-deps/root/usr ] && export LD_LIBRARY_PATH="$(pwd)/.gpu-deps/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export OMP_WAIT_POLICY=passive  # the compile and the loader share the CPUs with the trainer

stamp "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
echo "cpus $(nproc); $(g++ --version | head -1); $(cmake --version | head -1)"
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda)'

stamp "crops (background)"
python3 scripts/make_crop_file.py --photos data/photos --out /tmp/crops --train_crops "${CROPS:-1500000}" \
  > /tmp/crops.log 2>&1 &
crops_pid=$!
stamp "build mt-train"
if ! scripts/gpu_build.sh build-cuda mt-train > /tmp/build.log 2>&1; then
  grep -a -E "error|Error" /tmp/build.log | head -40; tail -20 /tmp/build.log
  cp /tmp/build.log "$OUT/build.log"; stamp "BUILD FAILED"; exit 1
fi
tail -1 /tmp/build.log
stamp "build tests (background, nice)"
[ -z "${SKIP_CHECKS:-}" ] && (JOBS=6 nice -n 15 scripts/gpu_build.sh build-cuda mt_core_tests > /tmp/build_tests.log 2>&1; echo "rc=$?" >> /tmp/build_tests.log) &
tests_pid=$!
wait "$crops_pid" || { cat /tmp/crops.log; stamp "CROPS FAILED"; }
cat /tmp/crops.log

TAIL=115  # CUDA tests + throughput run + packing
[ -n "${SKIP_CHECKS:-}" ] && TAIL=15
stamp "train shipped weights ($(($(left) - TAIL)) s)"
timeout $(($(left) - TAIL + 5)) scripts/gpu_train_weights.sh build-cuda $(($(left) - TAIL)) /tmp/crops "$OUT"
stamp "train exit $?"
for f in "$OUT"/mae.pt "$OUT"/masker.pt; do  # numpy copies, should LibTorch 1.13 not read 2.x archives
  [ -f "$f" ] && python3 -c 'import sys,torch,numpy as np
m=torch.jit.load(sys.argv[1],map_location="cpu")
np.savez(sys.argv[1][:-3]+".npz",mt_config=np.array(m.mt_config),**{k:v.numpy() for k,v in list(m.model.named_parameters())+list(m.model.named_buffers())})' "$f"
done

if [ -z "${SKIP_CHECKS:-}" ]; then
stamp "CUDA tests"
wait "$tests_pid"; tail -2 /tmp/build_tests.log
timeout 45 build-cuda/tests/mt_core_tests --gtest_filter='*_CUDA*:Attention*:Mae*:Masker*:Gumbel*' > /tmp/tests.log 2>&1
echo "tests exit $?"; grep -a -E "^\[  (PASSED|FAILED|SKIPPED) |tests ran|FAILED" /tmp/tests.log | head -20

stamp "throughput, seed CIFAR-10 MAE size ($(($(left) - 10)) s max)"
timeout $(($(left) - 10)) build-cuda/train/mt-train fit --config configs/mae_throughput_synthetic.yaml \
  --trainer.default_root_dir /tmp/gpu-runs > /tmp/throughput.log 2>&1
tr '\r' '\n' < /tmp/throughput.log | grep -a -E "training|img/s|stopped" | tail -3
fi

cp /tmp/tests.log /tmp/build_tests.log /tmp/throughput.log /tmp/gpu-runs/ 2>/dev/null
tar czf "$OUT/logs.tar.gz" --exclude='*.pt' -C /tmp gpu-runs
stamp "done"
