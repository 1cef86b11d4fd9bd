#!/usr/bin/python3
"""Python PyTorch *eager* reference of the adaptive-patch pipeline (`mt-client local --context full`).

The models are plain torch.nn.Module re-implementations ported from core/model/*.cc; the shipped
checkpoints (weights/mae.pt, weights/masker.pt) are opened with torch.jit.load only to read their
options (`mt_config`) and tensors, which are copied into the eager modules. Nothing runs through
TorchScript.

Pipeline per 32x32 tile (client/main.cc RunLocal -> core/pipeline/tile_reconstructor.cc):
  masker logits -> sigmoid -> top round(R*L) patches (stable descending sort: ties keep the lower
  patch index, core/masking/patch_selector.cc) -> MAE EncodeFull -> decoder_embed -> mask token at
  non-kept positions (ApplyKeepMask) -> Decode -> PatchesToImages -> clamp[0,1] -> composite (kept
  input pixels, decoder output elsewhere) -> 8-bit (x*255, round half-to-even) -> PNG.

Modes (run with Debian's interpreter, /usr/bin/python3, which has python3-torch 1.13 and cv2):
  --make_crops OUT      16 evenly spaced native 32x32 crops per data/photos/val photo -> OUT/*.png
                        (the crop law of `mt-client bench --crop 32`)
  --check DIR --cpp_out CPP
                        compare against `build/client/mt-client local --context full --keep_ratio R
                        --out CPP DIR/*.png` (composite <stem>_recon.png; keep mask and decoder output
                        read from the <stem>_grid.png panels); exit 1 if any 8-bit value differs by
                        more than 1 level or any keep mask differs
  --bench               throughput of the eager pipeline the way a Python server would run it
                        (PNG bytes in, PNG bytes out), batch 1 and batched, no_grad / inference_mode
"""

import argparse
import glob
import math
import os
import platform
import re
import shlex
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import cv2
except ImportError:  # pragma: no cover
    sys.exit("reference_pipeline.py needs OpenCV's Python module (Debian: python3-opencv); "
             "run it with /usr/bin/python3")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYER_NORM_EPS = 1e-6  # kLayerNormEps, core/model/vit.h


# ----------------------------------------------------------------------------------------------
# Models (ports of core/model/*.cc)
# ----------------------------------------------------------------------------------------------

def fused_attention_available():
    return hasattr(torch._C._nn, "_scaled_dot_product_attention") or \
        hasattr(torch.nn.functional, "scaled_dot_product_attention")


def scaled_dot_product_attention(q, k, v, kernel):
    """core/model/attention.cc. kernel 'auto'/'fused' = LibTorch's SDPA op (the C++ default, kAuto),
    'math' = matmul -> softmax -> matmul with the scale applied to the scores."""
    if kernel in ("auto", "fused") and fused_attention_available():
        if hasattr(torch.nn.functional, "scaled_dot_product_attention"):  # torch >= 2.0
            return torch.nn.functional.scaled_dot_product_attention(q, k, v)
        # 1.13: private name, returns (output, weights), like the C++ std::get<0>(...)
        return torch._C._nn._scaled_dot_product_attention(q, k, v, None, 0.0, False, False)[0]
    scale = 1.0 / math.sqrt(float(q.size(-1)))
    scores = torch.matmul(q, k.transpose(-2, -1)) * scale
    return torch.matmul(torch.softmax(scores, -1), v)


def layer_norm(dim):
    return nn.LayerNorm(dim, eps=LAYER_NORM_EPS)


class Linear(nn.Linear):
    """torch::nn::Linear of the C++ frontend (LibTorch 1.13 torch/nn/functional/linear.h): addmm only
    for 2-D input; otherwise matmul(x, W^T) and then `+= bias`. Python's F.linear (at::linear)
    instead folds a contiguous 3-D input into one addmm, which accumulates the bias inside the GEMM
    (OpenBLAS adds each K-block's partial sum onto C = bias), so it rounds differently from the
    C++ models by a few ulps; this port follows the C++ so the 8-bit outputs match exactly.
    `--linear torch` switches every layer to Python's own F.linear (within 1 level of the C++)."""

    CPP_FRONTEND = True  # class-wide switch, set by load_models()

    def forward(self, x):
        if not Linear.CPP_FRONTEND:
            return F.linear(x, self.weight, self.bias)
        if x.dim() == 2 and self.bias is not None:
            return torch.addmm(self.bias, x, self.weight.t())
        out = x.matmul(self.weight.t())
        if self.bias is not None:
            out += self.bias
        return out


class PatchEmbed(nn.Module):
    """Conv2d(C, D, kernel=stride=p) -> tokens (B, L, D), row-major."""

    def __init__(self, patch_size, in_chans, embed_dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)

    def forward(self, images):
        return self.proj(images).flatten(2).transpose(1, 2)


class SelfAttention(nn.Module):
    def __init__(self, dim, num_heads, kernel):
        super().__init__()
        assert dim % num_heads == 0
        self.num_heads = num_heads
        self.kernel = kernel
        self.qkv = Linear(dim, 3 * dim)
        self.proj = Linear(dim, dim)

    def forward(self, x):
        b, l, d = x.shape
        h = self.num_heads
        t = self.qkv(x).reshape(b, l, 3, h, d // h).permute(2, 0, 3, 1, 4)
        out = scaled_dot_product_attention(t[0], t[1], t[2], self.kernel)
        return self.proj(out.transpose(1, 2).reshape(b, l, d))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = Linear(dim, hidden)
        self.fc2 = Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # at::gelu default: exact (erf) GELU


def cpp_lround(x):
    """std::lround / std::llround: nearest, halves away from zero (Python's round() is half-even)."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


class Block(nn.Module):
    """Pre-norm block: x + attn(norm1(x)); x + mlp(norm2(x))."""

    def __init__(self, dim, num_heads, mlp_ratio, kernel):
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = SelfAttention(dim, num_heads, kernel)
        self.norm2 = layer_norm(dim)
        self.mlp = Mlp(dim, cpp_lround(dim * mlp_ratio))

    def forward(self, x):
        y = x + self.attn(self.norm1(x))
        return y + self.mlp(self.norm2(y))


def sincos_1d(dim, positions):
    """core/model/pos_embed.cc SinCos1d: float64, then cast to float32."""
    assert dim % 2 == 0
    omega = torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0)
    omega = 1.0 / torch.pow(10000.0, omega)
    out = torch.outer(positions.to(torch.float64).reshape(-1), omega)
    return torch.cat([torch.sin(out), torch.cos(out)], 1).to(torch.float32)


def sincos_2d(dim, grid_h, grid_w, cls_token):
    assert dim % 4 == 0
    cols = torch.arange(grid_w, dtype=torch.float64).repeat(grid_h)
    rows = torch.arange(grid_h, dtype=torch.float64).repeat_interleave(grid_w)
    emb = torch.cat([sincos_1d(dim // 2, cols), sincos_1d(dim // 2, rows)], 1)
    if cls_token:
        emb = torch.cat([torch.zeros(1, dim, dtype=emb.dtype), emb], 0)
    return emb


def patchify(images, p):
    b, c, h, w = images.shape
    gh, gw = h // p, w // p
    return images.reshape(b, c, gh, p, gw, p).permute(0, 2, 4, 3, 5, 1).reshape(b, gh * gw, p * p * c)


def unpatchify(patches, p, gh, gw, c=3):
    b = patches.size(0)
    return patches.reshape(b, gh, gw, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(b, c, gh * p, gw * p)


def upsample_patch_mask(mask, p, gh, gw):
    b = mask.size(0)
    return mask.reshape(b, 1, gh, 1, gw, 1).expand(b, 1, gh, p, gw, p).reshape(b, 1, gh * p, gw * p)


class MaskedAutoencoder(nn.Module):
    """core/model/mae.cc, the inference entry points the full-context pipeline uses."""

    def __init__(self, o, kernel="auto"):
        super().__init__()
        self.o = o
        p, g = o["patch_size"], o["img_size"] // o["patch_size"]
        self.grid = g
        self.num_patches = g * g
        d, dd = o["embed_dim"], o["decoder_embed_dim"]
        self.patch_embed = PatchEmbed(p, o["in_chans"], d)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(sincos_2d(d, g, g, True).unsqueeze(0), requires_grad=False)
        self.blocks = nn.ModuleList(Block(d, o["num_heads"], o["mlp_ratio"], kernel) for _ in range(o["depth"]))
        self.norm = layer_norm(d)
        self.decoder_embed = Linear(d, dd)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dd))
        self.decoder_pos_embed = nn.Parameter(sincos_2d(dd, g, g, True).unsqueeze(0), requires_grad=False)
        self.decoder_blocks = nn.ModuleList(
            Block(dd, o["decoder_num_heads"], o["mlp_ratio"], kernel) for _ in range(o["decoder_depth"]))
        self.decoder_norm = layer_norm(dd)
        self.decoder_pred = Linear(dd, p * p * o["in_chans"])

    def embed_patches(self, images):
        return self.patch_embed(images) + self.pos_embed.narrow(1, 1, self.num_patches)

    def run_encoder(self, x):
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    def encode_full(self, images):  # (B, C, H, W) -> (B, 1+L, D_enc)
        x = self.embed_patches(images)
        cls = (self.cls_token + self.pos_embed.narrow(1, 0, 1)).expand(x.size(0), -1, -1)
        return self.run_encoder(torch.cat([cls, x], 1))

    def embed_for_decoder(self, latent):
        return self.decoder_embed(latent)

    def apply_keep_mask(self, tokens, keep):  # keep (B, L) bool
        return torch.where(keep.to(torch.bool).unsqueeze(-1), tokens, self.mask_token.to(tokens.dtype))

    def decode(self, cls, patch_tokens):  # -> (B, L, p*p*C)
        x = torch.cat([cls, patch_tokens], 1) + self.decoder_pos_embed
        for blk in self.decoder_blocks:
            x = blk(x)
        x = self.decoder_pred(self.decoder_norm(x))
        return x.narrow(1, 1, self.num_patches)

    def patches_to_images(self, pred):
        return unpatchify(pred, self.o["patch_size"], self.grid, self.grid, self.o["in_chans"])


class TransformerScorer(nn.Module):
    def __init__(self, o, kernel="auto"):
        super().__init__()
        g, d = o["img_size"] // o["patch_size"], o["embed_dim"]
        hidden = cpp_lround(d * o["mlp_ratio"])
        self.patch_embed = PatchEmbed(o["patch_size"], o["in_chans"], d)
        self.register_buffer("pos_embed", sincos_2d(d, g, g, False).unsqueeze(0))
        self.blocks = nn.ModuleList(Block(d, o["num_heads"], o["mlp_ratio"], kernel) for _ in range(o["depth"]))
        self.norm = layer_norm(d)
        self.head_fc1 = Linear(d, hidden)
        self.head_fc2 = Linear(hidden, 1)

    def forward(self, images):
        x = self.patch_embed(images) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        return self.head_fc2(F.gelu(self.head_fc1(x))).squeeze(-1)


class CnnScorer(nn.Module):
    def __init__(self, o):
        super().__init__()
        c, c2, p = o["cnn_channels"], 2 * o["cnn_channels"], o["patch_size"]
        self.stem1 = nn.Conv2d(o["in_chans"], c, 3, 1, 1)
        self.stem2 = nn.Conv2d(c, c, 3, 1, 1)
        self.to_grid = nn.Conv2d(c, c2, p, p, 0)
        self.grid_blocks = nn.ModuleList(nn.Conv2d(c2, c2, 3, 1, 1) for _ in range(o["cnn_grid_blocks"]))
        self.head = nn.Conv2d(c2, 1, 1, 1, 0)

    def forward(self, images):
        x = F.gelu(self.stem2(F.gelu(self.stem1(images))))
        x = F.gelu(self.to_grid(x))
        for blk in self.grid_blocks:
            x = x + F.gelu(blk(x))
        return self.head(x).flatten(1)


class Masker(nn.Module):
    def __init__(self, o, kernel="auto"):
        super().__init__()
        self.o = o
        self.net = CnnScorer(o) if o.get("kind", "transformer") == "cnn" else TransformerScorer(o, kernel)

    def forward(self, images):  # (B, C, H, W) -> logits (B, L)
        logits = self.net(images)
        if self.o.get("inhibition", 0.0) == 0.0:
            return logits
        g = self.o["img_size"] // self.o["patch_size"]
        return lateral_inhibition(logits, g, g, self.o["inhibition"])


def lateral_inhibition(logits, gh, gw, alpha):
    """core/model/masker.cc LateralInhibition: z - alpha * sum_{8 neighbours j} sigmoid(z_j) * sigmoid(z_j - z)."""
    z = logits.view(logits.shape[0], 1, gh, gw)
    z_pad = F.pad(z, (1, 1, 1, 1), value=0.0)
    p_pad = F.pad(torch.sigmoid(z), (1, 1, 1, 1), value=0.0)
    suppression = torch.zeros_like(z)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            zn = z_pad[:, :, 1 + dy:1 + dy + gh, 1 + dx:1 + dx + gw]
            pn = p_pad[:, :, 1 + dy:1 + dy + gh, 1 + dx:1 + dx + gw]
            suppression = suppression + pn * torch.sigmoid(zn - z)
    return (z - alpha * suppression).view_as(logits)


# ----------------------------------------------------------------------------------------------
# Checkpoints
# ----------------------------------------------------------------------------------------------

MAE_DEFAULTS = dict(img_size=32, patch_size=2, in_chans=3, embed_dim=192, depth=12, num_heads=3,
                    decoder_embed_dim=192, decoder_depth=4, decoder_num_heads=3, mlp_ratio=4.0,
                    norm_pix_loss=False)
MASKER_DEFAULTS = dict(kind="transformer", img_size=32, patch_size=2, in_chans=3, embed_dim=192, depth=2,
                       num_heads=4, mlp_ratio=4.0, cnn_channels=64, cnn_grid_blocks=2, inhibition=0.0)


def parse_flat_yaml(text, defaults):
    """mt_config is a flat `key: value` mapping (core/config/model_config.cc ToYaml)."""
    o = dict(defaults)
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip().strip("'\"")
        if key not in defaults:
            raise ValueError("unknown option '%s' in checkpoint config" % key)
        ref = defaults[key]
        if isinstance(ref, bool):
            o[key] = value.lower() in ("true", "1", "yes")
        elif isinstance(ref, int):
            o[key] = int(value)
        elif isinstance(ref, float):
            o[key] = float(value)
        else:
            o[key] = value
    return o


def load_checkpoint(path, want_kind, defaults):
    archive = torch.jit.load(path, map_location="cpu")
    if archive.mt_kind != want_kind:
        raise ValueError("%s holds a %s model, expected %s" % (path, archive.mt_kind, want_kind))
    options = parse_flat_yaml(archive.mt_config, defaults)
    state = {n: t.detach().clone().float() for n, t in
             list(archive.model.named_parameters()) + list(archive.model.named_buffers())}
    return options, state


def load_models(mae_path, masker_path, kernel="auto", linear="cpp"):
    Linear.CPP_FRONTEND = linear == "cpp"
    mae_o, mae_state = load_checkpoint(mae_path, "mae", MAE_DEFAULTS)
    msk_o, msk_state = load_checkpoint(masker_path, "masker", MASKER_DEFAULTS)
    if (mae_o["img_size"], mae_o["patch_size"]) != (msk_o["img_size"], msk_o["patch_size"]):
        raise ValueError("masker and MAE disagree on image or patch size")
    mae = MaskedAutoencoder(mae_o, kernel)
    masker = Masker(msk_o, kernel)
    # The C++ ReadModule copies every parameter and buffer (pos embeds included) from the archive.
    mae.load_state_dict(mae_state, strict=True)
    masker.load_state_dict(msk_state, strict=True)
    mae.eval()
    masker.eval()
    for p in list(mae.parameters()) + list(masker.parameters()):
        p.requires_grad_(False)
    return mae, masker


def pos_embed_report(mae, masker):
    """Max |stored - recomputed| of the fixed sin-cos position embeddings (port check)."""
    g = mae.grid
    out = {
        "mae.pos_embed": (mae.pos_embed[0] - sincos_2d(mae.o["embed_dim"], g, g, True)).abs().max().item(),
        "mae.decoder_pos_embed": (mae.decoder_pos_embed[0] -
                                  sincos_2d(mae.o["decoder_embed_dim"], g, g, True)).abs().max().item(),
    }
    if isinstance(masker.net, TransformerScorer):
        out["masker.pos_embed"] = (masker.net.pos_embed[0] -
                                   sincos_2d(masker.o["embed_dim"], g, g, False)).abs().max().item()
    return out


# ----------------------------------------------------------------------------------------------
# Pipeline
# ----------------------------------------------------------------------------------------------

def keep_count(keep_ratio, num_patches):
    """PatchSelector::FixedKeepCount for kTopK: clamp(llround(ratio*L), 1, L)."""
    return min(max(cpp_lround(keep_ratio * num_patches), 1), num_patches)


def select_top_k(probs, k):
    """PatchSelector::Select (kTopK): stable descending sort, ties keep the lower index."""
    order = torch.sort(probs, dim=1, descending=True, stable=True)[1]
    keep = torch.zeros(probs.shape, dtype=torch.bool)
    return keep.scatter(1, order.narrow(1, 0, k), True)


def decode_image_rgb(data):
    """core/io/image_io.cc MatToTensor: BGR(A)/gray 8/16-bit -> RGB float32 (3, H, W) in [0, 1]."""
    m = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if m is None:
        raise ValueError("not a decodable image")
    if m.ndim == 2 or m.shape[2] == 1:
        rgb = cv2.cvtColor(m, cv2.COLOR_GRAY2RGB)
    elif m.shape[2] == 3:
        rgb = cv2.cvtColor(m, cv2.COLOR_BGR2RGB)
    elif m.shape[2] == 4:
        rgb = cv2.cvtColor(m, cv2.COLOR_BGRA2RGB)
    else:
        raise ValueError("unsupported channel count %d" % m.shape[2])
    if rgb.dtype == np.uint8:
        scale = np.float32(1.0 / 255.0)
    elif rgb.dtype == np.uint16:
        scale = np.float32(1.0 / 65535.0)
    elif rgb.dtype == np.float32:
        scale = np.float32(1.0)
    else:
        raise ValueError("unsupported pixel depth %s" % rgb.dtype)
    # cv::Mat::convertTo(CV_32F, scale) multiplies in float32.
    f = rgb.astype(np.float32) * scale
    return torch.from_numpy(f).permute(2, 0, 1).clamp_(0.0, 1.0)


def center_crop_resize(image, size):
    """core/io/image_io.cc CenterCropResize (a no-op copy for tiles already size x size)."""
    _, h, w = image.shape
    side = min(h, w)
    crop = image[:, (h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
    hwc = crop.permute(1, 2, 0).to(torch.float32).contiguous()
    if side != size:  # cv::resize of an equal-size image is a plain copy
        hwc = torch.from_numpy(cv2.resize(hwc.numpy(), (size, size),
                                          interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR))
    # Like the C++ (`from_blob(HWC).permute(2, 0, 1).clone()`), the tile keeps HWC strides.
    return hwc.permute(2, 0, 1).clone()


def to_uint8_hwc(images):
    """EncodeImage: (clamp(0,1)*255).round() -> uint8, (B, 3, H, W) -> (B, H, W, 3) RGB."""
    return (images.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def encode_png(rgb_hwc_u8):
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb_hwc_u8, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("png encoding failed")
    return buf.tobytes()


class Pipeline:
    """TileReconstructor::Reconstruct, full context, batched over B tiles."""

    def __init__(self, mae, masker, keep_ratio):
        self.mae, self.masker = mae, masker
        self.p = mae.o["patch_size"]
        self.k = keep_count(keep_ratio, mae.num_patches)

    def run(self, x, times=None):
        """x (B, 3, H, W) float32 in [0,1] -> dict(probs, keep, decoded, composite)."""
        t = time.perf_counter
        t0 = t()
        probs = torch.sigmoid(self.masker(x))
        t1 = t()
        keep = select_top_k(probs, self.k)
        t2 = t()
        latent = self.mae.embed_for_decoder(self.mae.encode_full(x))
        t3 = t()
        pred = self.mae.decode(latent.narrow(1, 0, 1),
                               self.mae.apply_keep_mask(latent.narrow(1, 1, self.mae.num_patches), keep))
        decoded = self.mae.patches_to_images(pred).clamp(0.0, 1.0)
        t4 = t()
        g = self.mae.grid
        m = upsample_patch_mask(keep.to(x.dtype), self.p, g, g)  # CompositeImage, core/masking/losses.cc
        composite = torch.clamp(m * x + (1 - m) * decoded, 0.0, 1.0)
        t5 = t()
        if times is not None:
            times["masker"] += t1 - t0
            times["select"] += t2 - t1
            times["encoder"] += t3 - t2
            times["decoder"] += t4 - t3
            times["composite"] += t5 - t4
        return dict(probs=probs, keep=keep, decoded=decoded, composite=composite)


# ----------------------------------------------------------------------------------------------
# --make_crops
# ----------------------------------------------------------------------------------------------

def crop_origins(h, w, size, per_image):
    """client/bench_command.cc Crops(): evenly spaced native crops on a ceil(sqrt(n))^2 lattice."""
    if h < size or w < size:
        return []
    side = int(math.ceil(math.sqrt(per_image)))
    out = []
    for i in range(side):
        for j in range(side):
            if len(out) >= per_image:
                return out
            y = 0 if side == 1 else i * (h - size) // (side - 1)
            x = 0 if side == 1 else j * (w - size) // (side - 1)
            out.append((y, x))
    return out


def make_crops(photos_glob, out_dir, size, per_image):
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for path in sorted(glob.glob(photos_glob)):
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            print("skip (unreadable): %s" % path, file=sys.stderr)
            continue
        stem = os.path.splitext(os.path.basename(path))[0]
        for n, (y, x) in enumerate(crop_origins(img.shape[0], img.shape[1], size, per_image)):
            dst = os.path.join(out_dir, "%s_%02d.png" % (stem, n))
            if not cv2.imwrite(dst, img[y:y + size, x:x + size]):
                raise RuntimeError("cannot write " + dst)
            written.append(dst)
    print("wrote %d %dx%d crops to %s" % (len(written), size, size, out_dir))
    return written


# ----------------------------------------------------------------------------------------------
# --check
# ----------------------------------------------------------------------------------------------

GRID_SCALE, GRID_GAP = 8, 4  # client/main.cc PanelRow(..., scale 8), default gap 4


def grid_panel(grid_bgr, index, size):
    """Panel `index` of an mt-client <stem>_grid.png row, sampled back to size x size RGB uint8."""
    x0 = index * (size * GRID_SCALE + GRID_GAP)
    c = GRID_SCALE // 2
    panel = grid_bgr[c:size * GRID_SCALE:GRID_SCALE, x0 + c:x0 + size * GRID_SCALE:GRID_SCALE]
    return cv2.cvtColor(np.ascontiguousarray(panel), cv2.COLOR_BGR2RGB)


def run_check(args, pipe):
    pngs = sorted(glob.glob(os.path.join(args.check, "*.png")))
    if not pngs:
        sys.exit("--check: no *.png in %s" % args.check)
    size, p = pipe.mae.o["img_size"], pipe.p
    rows, failures = [], 0
    worst_comp = worst_dec = 0
    mask_agree = 0
    n_compared = 0
    with torch.no_grad():
        for path in pngs:
            stem = os.path.splitext(os.path.basename(path))[0]
            recon_path = os.path.join(args.cpp_out, stem + "_recon.png")
            grid_path = os.path.join(args.cpp_out, stem + "_grid.png")
            if not (os.path.isfile(recon_path) and os.path.isfile(grid_path)):
                print("%s: missing %s or %s" % (stem, recon_path, grid_path))
                failures += 1
                continue
            with open(path, "rb") as f:
                tile = center_crop_resize(decode_image_rgb(f.read()), size)
            # One tile per forward, as mt-client local does (batch 1).
            r = pipe.run(tile.unsqueeze(0))
            ours_comp = to_uint8_hwc(r["composite"])[0].numpy().astype(np.int16)
            ours_dec = to_uint8_hwc(r["decoded"])[0].numpy().astype(np.int16)
            ours_keep = r["keep"][0].numpy()

            cpp_comp = cv2.cvtColor(cv2.imread(recon_path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.int16)
            grid = cv2.imread(grid_path, cv2.IMREAD_COLOR)
            mask_pic = grid_panel(grid, 1, size)  # MaskPicture: white = kept patch
            cpp_keep = mask_pic[p // 2::p, p // 2::p, 0].reshape(-1) > 127
            cpp_dec = grid_panel(grid, 3, size).astype(np.int16)

            d_comp = int(np.abs(ours_comp - cpp_comp).max())
            d_dec = int(np.abs(ours_dec - cpp_dec).max())
            n_comp_diff = int((ours_comp != cpp_comp).sum())
            same_mask = bool((ours_keep == cpp_keep).all())
            n_compared += 1
            mask_agree += same_mask
            worst_comp, worst_dec = max(worst_comp, d_comp), max(worst_dec, d_dec)
            bad = d_comp > args.tolerance or d_dec > args.tolerance or not same_mask
            failures += bad
            rows.append((stem, int(ours_keep.sum()), int(cpp_keep.sum()), same_mask, d_comp, n_comp_diff, d_dec,
                         "FAIL" if bad else "ok"))
            if bad and not same_mask:
                print("%s: mask differs at patches %s (ours kept %s, C++ kept %s)" % (
                    stem, np.nonzero(ours_keep != cpp_keep)[0].tolist(),
                    np.nonzero(ours_keep)[0].tolist(), np.nonzero(cpp_keep)[0].tolist()))
    print("| image | kept (py) | kept (C++) | mask equal | max abs diff composite | values differing | "
          "max abs diff decoder | |")
    print("|---|---:|---:|---|---:|---:|---:|---|")
    for r in rows:
        print("| %s | %d | %d | %s | %d | %d | %d | %s |" % r)
    print()
    print("images compared: %d; keep masks equal: %d/%d; max |diff| composite: %d, decoder output: %d "
          "(8-bit levels, tolerance %d); failures: %d" % (n_compared, mask_agree, n_compared, worst_comp,
                                                           worst_dec, args.tolerance, failures))
    return 0 if failures == 0 else 1


# ----------------------------------------------------------------------------------------------
# --bench
# ----------------------------------------------------------------------------------------------

STAGES = ["png_decode", "masker", "select", "encoder", "decoder", "composite", "png_encode"]


def bench_setting(pipe, payloads, batch, grad_mode, seconds, warmup_s, size, compute="fp32"):
    """Throughput with `batch` images per forward; a batch of 1 is a naive one-request-at-a-time
    server. Returns (images, elapsed, per-stage seconds, per-batch latencies)."""
    ctx = torch.inference_mode if grad_mode == "inference_mode" else torch.no_grad

    def one_batch(idx, times):
        t = time.perf_counter
        t0 = t()
        tiles = [center_crop_resize(decode_image_rgb(payloads[(idx + i) % len(payloads)]), size)
                 for i in range(batch)]
        x = torch.stack(tiles) if batch > 1 else tiles[0].unsqueeze(0)
        t1 = t()
        r = pipe.run(x, times)
        t2 = t()
        u8 = to_uint8_hwc(r["composite"]).numpy()
        outs = [encode_png(u8[i]) for i in range(batch)]
        t3 = t()
        times["png_decode"] += t1 - t0
        times["png_encode"] += t3 - t2
        return outs

    # bf16: matmuls in bf16 under CPU autocast, as the C++ ComputePrecisionScope (--compute bf16).
    with ctx(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=(compute == "bf16")):
        scratch = {s: 0.0 for s in STAGES}
        end = time.perf_counter() + warmup_s
        i = 0
        while time.perf_counter() < end or i < 2:
            one_batch(i, scratch)
            i += batch
        times = {s: 0.0 for s in STAGES}
        lat = []
        n = 0
        start = time.perf_counter()
        end = start + seconds
        while True:
            b0 = time.perf_counter()
            one_batch(n, times)
            lat.append(time.perf_counter() - b0)
            n += batch
            if time.perf_counter() >= end:
                break
        elapsed = time.perf_counter() - start
    return n, elapsed, times, lat


def runtime_summary():
    info = torch.__config__.parallel_info()
    lines = [ln.strip() for ln in info.splitlines()]
    keep = [ln for ln in lines if ln.startswith(("at::get_num_threads", "at::get_num_interop_threads",
                                                 "OpenMP", "MKL", "Intel(R) MKL-DNN", "ATen parallel backend",
                                                 "std::thread::hardware_concurrency"))]
    found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    blas = "BLAS_INFO=" + (found.group(1) if found else "?")
    libblas = "?"
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({ln.split()[-1] for ln in f if "blas" in ln.lower() and "/" in ln})
        libblas = ", ".join(os.path.realpath(x) for x in libs) or "none mapped"
    except OSError:
        pass
    return keep, blas, libblas


def run_bench(args, pipe):
    size = pipe.mae.o["img_size"]
    src = sorted(glob.glob(os.path.join(args.bench_images, "*.png"))) if args.bench_images else []
    if src:
        payloads = [open(p, "rb").read() for p in src]
    else:  # crops made in memory with the same law as --make_crops
        payloads = []
        for path in sorted(glob.glob(os.path.join(REPO, "data/photos/val/*.jpg"))):
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            for y, x in crop_origins(img.shape[0], img.shape[1], size, 16):
                payloads.append(encode_png(cv2.cvtColor(img[y:y + size, x:x + size], cv2.COLOR_BGR2RGB)))
    if not payloads:
        sys.exit("--bench: no input images (give --bench_images DIR or have data/photos/val/*.jpg)")

    keep, blas, libblas = runtime_summary()
    print("command: %s" % " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv))
    print("torch %s, numpy %s, cv2 %s, Python %s, %s" % (torch.__version__, np.__version__, cv2.__version__,
                                                         platform.python_version(), platform.machine()))
    print("parallel_info: " + "; ".join(keep))
    print("BLAS: %s (libblas mapped: %s)" % (blas, libblas))
    print("attention kernel: %s (fused op available: %s); linear: %s; compute: %s" % (
        args.attention, fused_attention_available(), args.linear, args.compute))
    print("inputs: %d PNG payloads of %dx%d; keep %d of %d patches; %gs per setting after %gs warm-up" % (
        len(payloads), size, size, pipe.k, pipe.mae.num_patches, args.seconds, args.warmup))
    try:
        print("loadavg: %s" % open("/proc/loadavg").read().strip())
    except OSError:
        pass
    print()

    results = []
    for grad_mode in args.grad_modes:
        for batch in args.batches:
            n, elapsed, times, lat = bench_setting(pipe, payloads, batch, grad_mode, args.seconds, args.warmup, size,
                                                   args.compute)
            results.append((grad_mode, batch, n, elapsed, times, lat))
            print("  %-14s batch %3d: %7.1f images/s (%d images in %.2fs)" % (grad_mode, batch, n / elapsed, n,
                                                                            elapsed), file=sys.stderr)

    header = ["grad mode", "batch", "images/s", "ms/image", "p50 ms/batch"] + ["%s ms/img" % s for s in STAGES]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for grad_mode, batch, n, elapsed, times, lat in results:
        cells = [grad_mode, str(batch), "%.1f" % (n / elapsed), "%.2f" % (1000 * elapsed / n),
                 "%.2f" % (1000 * statistics.median(lat))]
        cells += ["%.3f" % (1000 * times[s] / n) for s in STAGES]
        print("| " + " | ".join(cells) + " |")
    print()
    print("Per-stage columns are wall time per image (batched stages divided by the batch); "
          "png_decode includes the float conversion, composite the clamp/blend, png_encode the 8-bit "
          "quantisation and cv2.imencode.")
    try:
        print("loadavg after: %s" % open("/proc/loadavg").read().strip())
    except OSError:
        pass
    return 0


# ----------------------------------------------------------------------------------------------

class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows defaults and keeps the example lines of the epilog as written."""


def main():
    ap = argparse.ArgumentParser(
        description="Eager PyTorch reference of `mt-client local --context full` (masker -> top-k -> MAE "
                    "full-context encoder -> decoder -> composite): crop making, agreement check against "
                    "the C++ outputs, and a throughput benchmark.",
        formatter_class=HelpFormatter,
        epilog="examples:\n"
               "  /usr/bin/python3 bench/reference_pipeline.py --make_crops /tmp/mt_crops\n"
               "  build/client/mt-client local --mae_checkpoint weights/mae.pt --masker_checkpoint "
               "weights/masker.pt --context full --keep_ratio 0.16 --threads 2 --out /tmp/mt_cpp /tmp/mt_crops/*.png\n"
               "  /usr/bin/python3 bench/reference_pipeline.py --check /tmp/mt_crops --cpp_out /tmp/mt_cpp\n"
               "  /usr/bin/python3 bench/reference_pipeline.py --bench --seconds 5")
    ap.add_argument("--mae_checkpoint", default=os.path.join(REPO, "weights/mae.pt"))
    ap.add_argument("--masker_checkpoint", default=os.path.join(REPO, "weights/masker.pt"))
    ap.add_argument("--keep_ratio", type=float, default=0.16, help="keep the top round(R*L) patches")
    ap.add_argument("--compute", choices=["fp32", "bf16"], default="fp32",
                    help="--bench arithmetic: bf16 = matmuls under torch.autocast('cpu', bfloat16), as mt-sender --compute bf16")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--attention", choices=["auto", "fused", "math"], default="auto",
                    help="attention kernel; auto = LibTorch's SDPA op when available, as the C++ kAuto")
    ap.add_argument("--linear", choices=["cpp", "torch"], default="cpp",
                    help="Linear layers: cpp = the C++ frontend's formula (matmul, then += bias; bit-exact "
                         "with mt-client), torch = Python's F.linear (fused addmm; within 1 level)")
    ap.add_argument("--make_crops", metavar="OUTDIR", help="write 32x32 PNG crops of --photos to OUTDIR")
    ap.add_argument("--photos", default=os.path.join(REPO, "data/photos/val/*.jpg"), help="glob for --make_crops")
    ap.add_argument("--crops_per_image", type=int, default=16)
    ap.add_argument("--check", metavar="DIR", help="directory of 32x32 PNGs given to mt-client local")
    ap.add_argument("--cpp_out", metavar="DIR", help="mt-client local --out directory for --check")
    ap.add_argument("--tolerance", type=int, default=1, help="--check: max allowed 8-bit difference")
    ap.add_argument("--bench", action="store_true", help="throughput benchmark")
    ap.add_argument("--bench_images", metavar="DIR", help="--bench inputs (*.png); default: in-memory crops "
                    "of data/photos/val")
    ap.add_argument("--seconds", type=float, default=10.0, help="--bench: measured seconds per setting")
    ap.add_argument("--warmup", type=float, default=1.0, help="--bench: warm-up seconds per setting")
    ap.add_argument("--batches", type=lambda s: [int(v) for v in s.split(",")], default=[1, 16, 32],
                    help="--bench: images per forward, comma-separated")
    ap.add_argument("--grad_modes", type=lambda s: s.split(","), default=["no_grad", "inference_mode"],
                    help="--bench: no_grad,inference_mode")
    args = ap.parse_args()

    if not (args.make_crops or args.check or args.bench):
        ap.error("give at least one of --make_crops, --check, --bench")
    if args.check and not args.cpp_out:
        ap.error("--check needs --cpp_out")
    if not 0.0 < args.keep_ratio <= 1.0:
        ap.error("--keep_ratio must be in (0, 1]")
    for m in args.grad_modes:
        if m not in ("no_grad", "inference_mode"):
            ap.error("unknown grad mode '%s'" % m)

    torch.set_num_threads(args.threads)
    rc = 0
    if args.make_crops:
        make_crops(args.photos, args.make_crops, 32, args.crops_per_image)
    if args.check or args.bench:
        mae, masker = load_models(args.mae_checkpoint, args.masker_checkpoint, args.attention, args.linear)
        pipe = Pipeline(mae, masker, args.keep_ratio)
        if args.check:
            diffs = pos_embed_report(mae, masker)
            print("stored vs recomputed sin-cos position embeddings, max |diff|: " +
                  ", ".join("%s %.3g" % kv for kv in diffs.items()))
            print("threads %d, attention %s, linear %s, keep %d of %d patches" % (
                torch.get_num_threads(), args.attention, args.linear, pipe.k, mae.num_patches))
            rc |= run_check(args, pipe)
        if args.bench:
            rc |= run_bench(args, pipe)
    return rc


if __name__ == "__main__":
    sys.exit(main())
