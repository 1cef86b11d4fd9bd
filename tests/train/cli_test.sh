#!/usr/bin/env bash
# mt-train's command line: --print_config refuses a misspelt key exactly as fit does, and prints
# a valid merged config. Usage: cli_test.sh MT_TRAIN SOURCE_DIR
set -uo pipefail
train="$1" src="$2"
cfg="$src/configs/mae_config_photos_cpu.yaml"
[ -f "$cfg" ] || cfg="$(ls "$src"/configs/mae_config_*.yaml | head -1)"
fail() { echo "FAIL: $*"; exit 1; }

out=$("$train" fit --config "$cfg" --print_config 2>&1) || fail "a valid config was refused: $out"
grep -q "class_path" <<<"$out" || fail "--print_config printed no config: $out"

out=$("$train" fit --config "$cfg" --model.init_args.bass_lr=0.1 --print_config 2>&1) && fail "a misspelt key was accepted: $out"
grep -q "bass_lr" <<<"$out" || fail "the refusal does not name the key: $out"

out=$("$train" fit --config "$cfg" --model.init_args.bass_lr=0.1 --trainer.max_steps=0 2>&1) && fail "fit accepted a misspelt key"
grep -q "bass_lr" <<<"$out" || fail "fit's refusal does not name the key: $out"
# Data-parallel: a tiny MAE on synthetic images, trained by 2 processes mt-train starts itself.
syn="$src/configs/mae_throughput_synthetic.yaml"
tiny=(--model.init_args.embed_dim=32 --model.init_args.depth=1 --model.init_args.num_heads=2
      --model.init_args.decoder_embed_dim=16 --model.init_args.decoder_depth=1 --model.init_args.decoder_num_heads=2
      --model.init_args.img_size=8 --data.init_args.img_size=8 --data.init_args.batch_size=4
      --data.init_args.crops_per_image=64 --data.init_args.val_crops_per_image=8 --data.init_args.num_workers=0
      --trainer.max_steps=4 --trainer.max_time=00:00:10:00 --trainer.log_every_n_steps=2 --trainer.precision=32-true
      --trainer.accelerator=cpu --trainer.enable_progress_bar=false --threads 1)
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
out=$(timeout 60 "$train" fit --config "$syn" "${tiny[@]}" --trainer.devices=2 --trainer.default_root_dir="$root" 2>&1) \
  || fail "a 2-process run failed: $out"
grep -q "2 processes (gloo)" <<<"$out" || fail "the run did not say it trained on 2 processes: $out"
run="$root/mae_throughput/version_0"
[ -f "$run/checkpoints/last.pt" ] && [ -f "$run/metrics.csv" ] || fail "rank 0 wrote no checkpoint/metrics: $(ls -R "$root")"
[ "$(ls "$root/mae_throughput")" = "version_0" ] || fail "a rank other than 0 made a run directory: $(ls "$root/mae_throughput")"

# A rank whose rank 0 never comes fails with a clear error within the rendezvous timeout.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start=$SECONDS
out=$(WORLD_SIZE=2 RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port timeout 60 "$train" fit --config "$syn" "${tiny[@]}" \
      --trainer.devices=2 --trainer.default_root_dir="$root" --rendezvous_timeout_s=2 2>&1) && fail "rank 1 alone succeeded: $out"
[ $((SECONDS - start)) -lt 30 ] || fail "rank 1 alone took $((SECONDS - start)) s to fail"
grep -q "rendezvous at 127.0.0.1:$port failed for rank 1 of 2" <<<"$out" || fail "unclear rendezvous error: $out"

# WORLD_SIZE from a launcher must match the config's devices × num_nodes.
out=$(WORLD_SIZE=2 RANK=0 "$train" fit --config "$syn" "${tiny[@]}" --trainer.default_root_dir="$root" 2>&1) \
  && fail "WORLD_SIZE=2 with trainer.devices=1 was accepted"
grep -q "WORLD_SIZE=2 but trainer.devices" <<<"$out" || fail "unclear world-size error: $out"
echo "PASS"
