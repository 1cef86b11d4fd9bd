#!/usr/bin/env bash
# mt-train import, end to end, on a file Python wrote in facebookresearch/mae's layout
# (torch.save({"model": OrderedDict(name -> tensor)}), the models_mae.py names, a small ViT so
# it runs in seconds; no download): the written checkpoint, opened again in Python with
# torch.jit.load, holds every tensor unchanged and records the ImageNet normalisation; an
# encoder-only file (mae_pretrain_*) is refused with a message that says so.
# Usage: import_official_test.sh MT_TRAIN PYTHON3
set -uo pipefail
train="$1" py="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$py" -c "import torch" 2>/dev/null || { echo "SKIP: $py has no torch (python3-torch)"; exit 77; }

"$py" - "$tmp" <<'PY' || fail "could not write the official-layout files"
import collections, sys, torch
torch.manual_seed(0)
D, depth, Dd, ddepth, p, grid, ratio = 128, 2, 64, 1, 8, 4, 4
sd = collections.OrderedDict()
def add(name, *shape):
    sd[name] = torch.randn(*shape)
add("cls_token", 1, 1, D); add("pos_embed", 1, 1 + grid * grid, D)
add("patch_embed.proj.weight", D, 3, p, p); add("patch_embed.proj.bias", D)
def block(prefix, w):
    for n in ("norm1", "norm2"):
        add(f"{prefix}.{n}.weight", w); add(f"{prefix}.{n}.bias", w)
    add(f"{prefix}.attn.qkv.weight", 3 * w, w); add(f"{prefix}.attn.qkv.bias", 3 * w)
    add(f"{prefix}.attn.proj.weight", w, w); add(f"{prefix}.attn.proj.bias", w)
    add(f"{prefix}.mlp.fc1.weight", ratio * w, w); add(f"{prefix}.mlp.fc1.bias", ratio * w)
    add(f"{prefix}.mlp.fc2.weight", w, ratio * w); add(f"{prefix}.mlp.fc2.bias", w)
for i in range(depth): block(f"blocks.{i}", D)
add("norm.weight", D); add("norm.bias", D)
add("mask_token", 1, 1, Dd); add("decoder_pos_embed", 1, 1 + grid * grid, Dd)
add("decoder_embed.weight", Dd, D); add("decoder_embed.bias", Dd)
for i in range(ddepth): block(f"decoder_blocks.{i}", Dd)
add("decoder_norm.weight", Dd); add("decoder_norm.bias", Dd)
add("decoder_pred.weight", p * p * 3, Dd); add("decoder_pred.bias", p * p * 3)
torch.save({"model": sd}, f"{sys.argv[1]}/mae_visualize_tiny.pth")
enc = collections.OrderedDict((k, v) for k, v in sd.items() if not k.startswith("decoder") and k != "mask_token")
torch.save({"model": enc}, f"{sys.argv[1]}/mae_pretrain_tiny.pth")
PY

out=$("$train" import --from "$tmp/mae_visualize_tiny.pth" --out "$tmp/imported.pt" 2>&1) || fail "import failed: $out"
grep -q "32x32 tiles, patch 8, encoder 2x128 (2 heads), decoder 1x64 (16 heads)" <<<"$out" || fail "wrong architecture: $out"
"$py" - "$tmp" <<'PY' || fail "the imported checkpoint differs from the file"
import sys, torch
src = torch.load(f"{sys.argv[1]}/mae_visualize_tiny.pth")["model"]
m = torch.jit.load(f"{sys.argv[1]}/imported.pt")
got = dict(list(m.model.named_parameters()) + list(m.model.named_buffers()))
missing = set(src) - set(got)
assert not missing, f"missing {sorted(missing)}"
for k, v in src.items():
    assert torch.equal(got[k], v), f"{k} differs"
cfg = m.mt_config
import re
vals = {k: [float(x) for x in re.search(k + r": \[([^]]*)\]", cfg).group(1).split(",")] for k in ("input_mean", "input_std")}
assert vals == {"input_mean": [0.485, 0.456, 0.406], "input_std": [0.229, 0.224, 0.225]}, cfg
print(f"{len(src)} tensors equal; options record the ImageNet normalisation")
PY

out=$("$train" import --from "$tmp/mae_pretrain_tiny.pth" --out "$tmp/x.pt" 2>&1) && fail "an encoder-only file was imported"
grep -q "mae_visualize" <<<"$out" || fail "the refusal does not say what to use: $out"
out=$("$train" import --from "$tmp/missing.pth" --out "$tmp/x.pt" 2>&1) && fail "a missing file was imported"
grep -q "NOT_FOUND" <<<"$out" || fail "missing file: $out"
echo "PASS"
