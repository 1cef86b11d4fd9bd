#!/usr/bin/env python3
"""Writes random-resized square crops of a photo folder as a crop file (mt.data.CropFile).

For machines whose C++ side has no OpenCV (the GPU box: Python's cv2 is there, Debian's
libopencv-dev is not). The crops follow core/data/image_folder.cc exactly: the photo is picked
round-robin, the crop side is log-uniform in [min(S, short side), short side], the position is
uniform, and the crop is resized with INTER_AREA (shrink) or INTER_LINEAR (grow). Flips are left
to the loader. Output: <out>/train.u8 and <out>/val.u8, back-to-back (3, S, S) uint8 RGB images.

  python3 scripts/make_crop_file.py --photos data/photos --out /tmp/crops --train_crops 2000000
"""
import argparse
import math
import multiprocessing as mp
import os
import sys

import numpy as np

try:
    import cv2
except ImportError:  # pragma: no cover - message for users
    sys.exit("make_crop_file.py needs OpenCV for Python (Debian: python3-opencv; pip: opencv-python-headless)")

kExtensions = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm"}
kShards = 64  # fixed, so the output depends on --seed only, not on the number of processes


def load_photos(folder, size):
    files = []
    for root, _, names in os.walk(folder):
        files += [os.path.join(root, n) for n in names if os.path.splitext(n)[1].lower() in kExtensions]
    photos = []
    for f in sorted(files):
        bgr = cv2.imread(f, cv2.IMREAD_COLOR)
        if bgr is None:
            sys.exit(f"cannot decode image '{f}'")
        if min(bgr.shape[:2]) >= size:
            photos.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    if not photos:
        sys.exit(f"no usable images (>= {size} px) under '{folder}'")
    return photos


def crop(photo, size, rng):
    rows, cols = photo.shape[:2]
    short = min(rows, cols)
    lo, hi = math.log(min(size, short)), math.log(short)
    side = int(np.clip(round(math.exp(lo + rng.random() * (hi - lo))), min(size, short), short))
    y = min(int(rng.random() * (rows - side + 1)), rows - side)
    x = min(int(rng.random() * (cols - side + 1)), cols - side)
    patch = photo[y:y + side, x:x + side]
    if side != size:
        patch = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)
    return np.ascontiguousarray(patch.transpose(2, 0, 1))


_cache = {}


def shard(args):
    folder, size, first, count, seed, shard_id = args
    if (folder, size) not in _cache:  # once per worker process
        _cache[(folder, size)] = load_photos(folder, size)
    photos = _cache[(folder, size)]
    rng = np.random.default_rng([seed, shard_id])
    out = np.empty((count, 3, size, size), np.uint8)
    for i in range(count):
        out[i] = crop(photos[(first + i) % len(photos)], size, rng)
    return out.tobytes()


def write(folder, out_path, size, total, seed, pool):
    per = [total // kShards + (1 if s < total % kShards else 0) for s in range(kShards)]
    starts = np.cumsum([0] + per[:-1])
    jobs = [(folder, size, int(starts[s]), per[s], seed, s) for s in range(kShards) if per[s] > 0]
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        for blob in pool.imap(shard, jobs):
            f.write(blob)
    os.replace(tmp, out_path)
    print(f"[crops] {total} crops of {size}x{size} from {folder} -> {out_path} ({total * 3 * size * size / 1e6:.0f} MB)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", default="data/photos", help="folder with train/ and val/ photo subfolders")
    p.add_argument("--out", required=True, help="output folder for train.u8 and val.u8")
    p.add_argument("--img_size", type=int, default=32, help="side S of the square crops")
    p.add_argument("--train_crops", type=int, default=1_000_000, help="training crops")
    p.add_argument("--val_crops_per_image", type=int, default=64, help="validation crops per val photo")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--processes", type=int, default=os.cpu_count())
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    n_val = len(load_photos(os.path.join(a.photos, "val"), a.img_size))
    with mp.Pool(a.processes) as pool:
        write(os.path.join(a.photos, "train"), os.path.join(a.out, "train.u8"), a.img_size, a.train_crops, a.seed, pool)
        write(os.path.join(a.photos, "val"), os.path.join(a.out, "val.u8"), a.img_size,
              n_val * a.val_crops_per_image, a.seed + 1, pool)


if __name__ == "__main__":
    main()
