#!/usr/bin/env python3
"""Checks that every image the client saw acknowledged is on the receiver's disk, intact.

Reads the per-request CSVs written by `mt-client load --requests_csv F --verify` (each OK row
carries the stored path and the FNV-1a 64 hash of the PNG the receiver acknowledged) and
compares with the files on disk. Prints counts (sent, acknowledged, failed by code, on disk,
intact) and exits 1 if any acknowledged image is missing or differs.

Usage: verify_stored.py REQUESTS_CSV [REQUESTS_CSV...] [--received DIR]
  --received DIR: also count files in DIR that no acknowledged request names (not an error:
                  an image stored whose ack was lost in a crash is "on disk, unacknowledged").
"""
import argparse
import collections
import csv
import os
import sys

FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3


def fnv1a64(data: bytes) -> str:
    h = FNV_OFFSET
    for b in data:
        h ^= b
        h = (h * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", nargs="+")
    ap.add_argument("--received", help="receiver output folder, to count unacknowledged files")
    a = ap.parse_args()
    codes = collections.Counter()
    acked, missing, corrupt, intact = [], [], [], 0
    for path in a.csv:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                codes[row["code"]] += 1
                if row["code"] != "OK":
                    continue
                acked.append(row["stored_path"])
                if not os.path.exists(row["stored_path"]):
                    missing.append(row["id"])
                    continue
                with open(row["stored_path"], "rb") as img:
                    if row["png_hash"] and fnv1a64(img.read()) != row["png_hash"]:
                        corrupt.append(row["id"])
                    else:
                        intact += 1
    sent = sum(codes.values())
    print(f"sent {sent}, acknowledged {codes['OK']}, failed {sent - codes['OK']}"
          f" ({', '.join(f'{c} {n}' for c, n in sorted(codes.items()) if c != 'OK') or 'none'})")
    print(f"acknowledged and on disk {len(acked) - len(missing)}, intact (hash matches) {intact},"
          f" missing {len(missing)}, corrupt {len(corrupt)}")
    if a.received:
        on_disk = {os.path.join(a.received, n) for n in os.listdir(a.received) if n.endswith(".png")}
        temp = [n for n in os.listdir(a.received) if not n.endswith(".png") and n != ".content"]
        extra = len(on_disk - set(acked))
        print(f"files in {a.received}: {len(on_disk)} PNG ({extra} stored but never acknowledged to the client),"
              f" {len(temp)} other (temporary files left by a crash)")
    for what, ids in (("missing", missing), ("corrupt", corrupt)):
        if ids:
            print(f"{what}: {' '.join(ids[:20])}{' ...' if len(ids) > 20 else ''}", file=sys.stderr)
    return 1 if missing or corrupt else 0


if __name__ == "__main__":
    sys.exit(main())
