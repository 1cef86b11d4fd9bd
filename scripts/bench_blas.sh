#!/usr/bin/env bash
# Compares OpenBLAS builds (pthread vs openmp) under LibTorch's own OpenMP threads
# (1 and 2), and Debian's reference BLAS, by putting each library first on the loader
# path for the GEMM and inference benchmarks. Needs libopenblas0-pthread and
# libopenblas0-openmp installed (libblas3 for the reference row); changes nothing
# system-wide. Usage: scripts/bench_blas.sh [build-dir]   (env SECONDS_PER_CASE=2)
set -euo pipefail
BUILD_DIR="${1:-build}"
S="${SECONDS_PER_CASE:-2}"
arch_dir="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for variant in openblas-pthread openblas-openmp blas; do
  dir="$arch_dir/$variant"
  if [ ! -e "$dir/libblas.so.3" ]; then echo "## $variant: not installed, skipped"; continue; fi
  for threads in 1 2; do
    echo "## $variant, LibTorch intra-op threads $threads"
    LD_LIBRARY_PATH="$dir" "$BUILD_DIR/bench/mt_bench_gemm" --seconds "$S" --threads "$threads"
    [ "$variant" = blas ] && break  # reference BLAS: one row is enough to see the gap
    LD_LIBRARY_PATH="$dir" "$BUILD_DIR/bench/mt_bench_inference" --seconds "$S" --threads "$threads"
  done
done
echo "## allocator effect (system BLAS, default threads): glibc default allocator"
"$BUILD_DIR/bench/mt_bench_inference" --seconds "$S" --batches 64 --default_allocator
