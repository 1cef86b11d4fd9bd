#!/usr/bin/env bash
# Compares OpenBLAS builds (pthread vs openmp) under LibTorch's own OpenMP threads,
# plus Debian's reference BLAS, by running the GEMM and inference benchmarks with each
# library first on the loader path. Needs libopenblas0-pthread, libopenblas0-openmp
# (and libblas3 for the reference) installed; it does not change the system default.
# Usage: scripts/bench_blas.sh [build-dir]
set -euo pipefail
BUILD_DIR="${1:-build}"
arch_dir="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for variant in openblas-pthread openblas-openmp blas; do
  dir="$arch_dir/$variant"
  if [ ! -e "$dir/libblas.so.3" ]; then echo "## $variant: not installed, skipped"; continue; fi
  echo "## $variant ($dir)"
  # The reference BLAS has no libopenblas.so.0: LibTorch then still finds OpenBLAS for
  # its direct calls, so the row measures what libblas.so.3 alone changes.
  LD_LIBRARY_PATH="$dir" "$BUILD_DIR/bench/mt_bench_gemm" --seconds "${SECONDS_PER_CASE:-2}"
  if [ "$variant" != blas ]; then
    LD_LIBRARY_PATH="$dir" "$BUILD_DIR/bench/mt_bench_inference" --seconds "${SECONDS_PER_CASE:-2}"
  fi
done
