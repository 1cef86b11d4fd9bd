#!/usr/bin/env python3
"""Independent NumPy reference values for the C++ tests.

Written from the published formulas (official MAE pos-embed and patchify
conventions, Wang et al. 2004 SSIM, the seed README's losses), with plain
loops where that makes the convention obvious. It shares no code with core/.

Output format (text): for each array a header line `name ndim d0 d1 ...`
followed by one line of space-separated values (float64, repr precision).
"""
import math
import sys

import numpy as np


def sincos_1d(dim, positions):
    out = np.zeros((len(positions), dim))
    half = dim // 2
    for n, pos in enumerate(positions):
        for d in range(half):
            omega = 1.0 / 10000 ** (2.0 * d / dim)
            out[n, d] = math.sin(pos * omega)
            out[n, half + d] = math.cos(pos * omega)
    return out


def sincos_2d(dim, grid_h, grid_w, cls_token):
    rows = []
    for r in range(grid_h):          # tokens row-major
        for c in range(grid_w):
            col_part = sincos_1d(dim // 2, [c])[0]   # column coordinate first
            row_part = sincos_1d(dim // 2, [r])[0]
            rows.append(np.concatenate([col_part, row_part]))
    emb = np.array(rows)
    if cls_token:
        emb = np.concatenate([np.zeros((1, dim)), emb], 0)
    return emb


def patchify(img, p):
    b, c, h, w = img.shape
    gh, gw = h // p, w // p
    out = np.zeros((b, gh * gw, p * p * c))
    for n in range(b):
        for i in range(gh):
            for j in range(gw):
                for pr in range(p):        # row within patch
                    for qc in range(p):    # column within patch
                        for ch in range(c):  # channel last
                            out[n, i * gw + j, (pr * p + qc) * c + ch] = img[n, ch, i * p + pr, j * p + qc]
    return out


def gaussian_window(size=11, sigma=1.5):
    x = np.arange(size) - (size - 1) / 2.0
    g = np.exp(-(x ** 2) / (2 * sigma ** 2))
    g /= g.sum()
    return np.outer(g, g)


def filter_valid(img, win):
    k = win.shape[0]
    h, w = img.shape
    out = np.zeros((h - k + 1, w - k + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(img[i:i + k, j:j + k] * win)
    return out


def ssim_channel(a, b):
    win = gaussian_window()
    c1, c2 = (0.01) ** 2, (0.03) ** 2
    mu_a, mu_b = filter_valid(a, win), filter_valid(b, win)
    saa = filter_valid(a * a, win) - mu_a ** 2
    sbb = filter_valid(b * b, win) - mu_b ** 2
    sab = filter_valid(a * b, win) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return m.mean()


def ssim(a, b):
    return np.array([np.mean([ssim_channel(a[n, c], b[n, c]) for c in range(a.shape[1])])
                     for n in range(a.shape[0])])


def psnr(a, b):
    return np.array([10 * math.log10(1.0 / np.mean((a[n] - b[n]) ** 2)) for n in range(a.shape[0])])


def noisy_pair(rng, shape, noise):
    """An image batch and a noisy copy clipped to [0, 1] (the PSNR/SSIM test inputs)."""
    a = rng.random(shape)
    return a, np.clip(a + noise * rng.standard_normal(shape), 0, 1)


def add_metric_refs(arrays, tag, a, b):
    arrays[f"metric{tag}a"], arrays[f"metric{tag}b"] = a, b
    arrays[f"ssim{tag}ab"], arrays[f"psnr{tag}ab"] = ssim(a, b), psnr(a, b)


def composite_losses(x, recon, mask, p, m, eps=1e-6, lam_mean=0.2, lam_ent=1e-6):
    b, c, h, w = x.shape
    up = np.zeros((b, 1, h, w))
    gw = w // p
    for n in range(b):
        for y in range(h):
            for xx in range(w):
                up[n, 0, y, xx] = mask[n, (y // p) * gw + (xx // p)]   # nearest neighbour
    comp = np.clip(up * x + (1 - up) * recon, 0.0, 1.0)
    mse = np.mean((x - comp) ** 2)
    sparsity = np.mean(m) ** 2
    entropy = np.mean(-m * np.log(m + eps) - (1 - m) * np.log(1 - m + eps))
    total = mse + lam_mean * sparsity + lam_ent * entropy
    return comp, np.array([mse, sparsity, entropy, total])


def main(out_path):
    rng = np.random.default_rng(20241128)
    arrays = {}
    arrays["sincos_2d_d16_g4_cls"] = sincos_2d(16, 4, 4, True)
    arrays["sincos_2d_d8_g3x5"] = sincos_2d(8, 3, 5, False)
    img = rng.random((2, 3, 6, 4))
    arrays["patchify_input"] = img
    arrays["patchify_p2"] = patchify(img, 2)
    add_metric_refs(arrays, "_", *noisy_pair(rng, (2, 3, 16, 20), 0.1))
    x = rng.random((2, 3, 4, 4))
    recon = rng.random((2, 3, 4, 4)) * 1.4 - 0.2     # outside [0,1] to exercise clamping
    mask = rng.random((2, 4))
    probs = rng.random((2, 4))
    probs[0, 0] = 0.0                                 # the ε in the logs matters here
    probs[1, 3] = 1.0
    arrays["loss_images"] = x
    arrays["loss_recon"] = recon
    arrays["loss_mask"] = mask
    arrays["loss_probs"] = probs
    comp, terms = composite_losses(x, recon, mask, 2, probs)
    arrays["loss_composite"] = comp
    arrays["loss_terms"] = terms   # mse, sparsity, entropy, total
    # GDN / inverse GDN (Ballé 2016) with β = β'² + 1e-6, γ = γ'² (core/model/gdn).
    gx = rng.standard_normal((2, 3, 2, 2))
    beta_root = 0.5 + rng.random(3)
    gamma_root = 0.1 + 0.5 * rng.random((3, 3))
    beta = beta_root ** 2 + 1e-6
    gamma = gamma_root ** 2
    norm = beta[None, :, None, None] + np.einsum("ij,bjhw->bihw", gamma, gx ** 2)
    arrays["gdn_input"] = gx
    arrays["gdn_beta_root"] = beta_root
    arrays["gdn_gamma_root"] = gamma_root
    arrays["gdn_forward"] = gx / np.sqrt(norm)
    arrays["gdn_inverse"] = gx * np.sqrt(norm)
    # Taller than the C++ metrics' 64-row bands (3 bands of SSIM output rows, 3 of PSNR rows).
    add_metric_refs(arrays, "_tall_", *noisy_pair(np.random.default_rng(20261202), (2, 2, 150, 14), 0.05))
    with open(out_path, "w") as f:
        for name, arr in arrays.items():
            arr = np.asarray(arr, dtype=np.float64)
            f.write(f"{name} {arr.ndim} {' '.join(str(d) for d in arr.shape)}\n")
            f.write(" ".join(repr(float(v)) for v in arr.reshape(-1)) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
