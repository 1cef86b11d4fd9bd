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
echo "PASS"
