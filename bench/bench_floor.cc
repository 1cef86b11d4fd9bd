// Compute floor of the shipped pipeline on this machine, next to what the models achieve.
// floor images/s = GEMM GFLOP/s (measured at the model's own largest GEMM shape) ÷ model GFLOP
// per 32×32 image (masker + full-context encoder + decoder). Then the in-process pipeline
// (PacketEncoder::EncodeBatch → PacketDecoder::DecodeBatch, features fp16, keep 16 %) at
// several batch sizes, as images/s and as a fraction of the floor.
// Usage: mt_bench_floor [--mae_checkpoint weights/mae.pt] [--masker_checkpoint weights/masker.pt] [--seconds S]
//                       [--threads N] [--batches 1,4,16,32] [--compute fp32|bf16]
#include <ATen/ATen.h>
#include <torch/version.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/runtime/blas_core.h"
#include "bench/bench_timer.h"
#include "core/config/model_paths.h"
#include "core/io/checkpoint.h"
#include "core/masking/patch_selector.h"
#include "core/model/flops.h"
#include "core/pipeline/packet_decoder.h"
#include "core/pipeline/packet_encoder.h"
#include "core/runtime/cpu_runtime.h"

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  std::string mae_path = mt::kDefaultMaeCheckpoint, masker_path = mt::kDefaultMaskerCheckpoint;
  mt::CpuRuntimeOptions runtime;
  double seconds = 3.0;
  std::vector<int64_t> batches = {1, 4, 16, 32};
  mt::ComputePrecision compute = mt::ComputePrecision::kFloat32;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("mt_bench_floor [--mae_checkpoint F] [--masker_checkpoint F] [--seconds S] [--threads N]\n"
                  "               [--batches 1,4,16,32] [--compute fp32|bf16]\n"
                  "compute floor (model FLOPs / measured GEMM GFLOP/s, fp32 and bf16) vs the in-process pipeline's\n"
                  "images/s with the models' arithmetic at --compute (the floor of that precision is the reference)\n");
      return 0;
    }
    // The binaries' flag names; --mae / --masker are this benchmark's older spelling (docs/RESULTS.md).
    const bool mae_flag = !std::strcmp(argv[i], "--mae_checkpoint") || !std::strcmp(argv[i], "--mae");
    const bool masker_flag = !std::strcmp(argv[i], "--masker_checkpoint") || !std::strcmp(argv[i], "--masker");
    if (mae_flag && i + 1 < argc) mae_path = argv[++i];
    if (masker_flag && i + 1 < argc) masker_path = argv[++i];
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) runtime.threads = std::atoi(argv[++i]);
    if (!std::strcmp(argv[i], "--compute") && i + 1 < argc) {
      absl::StatusOr<mt::ComputePrecision> c = mt::ParseComputePrecision(argv[++i]);
      if (!c.ok()) {
        std::fprintf(stderr, "--compute: %s\n", std::string(c.status().message()).c_str());
        return 2;
      }
      compute = *c;
    }
    if (!std::strcmp(argv[i], "--batches") && i + 1 < argc) {
      batches.clear();
      std::stringstream s(argv[++i]);
      std::string item;
      while (std::getline(s, item, ',')) batches.push_back(std::atoll(item.c_str()));
    }
  }
  const std::string runtime_info = mt::ConfigureCpuRuntime(runtime);
  absl::StatusOr<mt::MaskedAutoencoder> mae = mt::LoadMae(mae_path);
  absl::StatusOr<mt::Masker> masker = mt::LoadMasker(masker_path);
  if (!mae.ok() || !masker.ok()) {
    std::fprintf(stderr, "%s\n", (!mae.ok() ? mae.status() : masker.status()).ToString().c_str());
    return 1;
  }
  const mt::MaskedAutoencoderOptions& o = (*mae)->options();
  const mt::MaskerOptions& mo = (*masker)->options();
  // One count for the benches, the admission budget and the model card (either masker backbone).
  const double masker_flops = mt::MaskerFlops(mo);
  const double encoder_flops = mt::MaeEncoderFlops(o, o.num_patches());
  const double decoder_flops = mt::MaeDecoderFlops(o);
  const double total = masker_flops + encoder_flops + decoder_flops;

  // GEMM rate at the model's largest GEMM (encoder fc1) for a 16-image batch, in both precisions.
  const int64_t m = 16 * (o.num_patches() + 1), k = o.embed_dim, n = static_cast<int64_t>(o.embed_dim * o.mlp_ratio);
  at::manual_seed(0);
  auto gemm_rate = [&](at::ScalarType dtype) {
    at::Tensor a = at::randn({m, k}).to(dtype), b = at::randn({k, n}).to(dtype);
    return 2.0 * m * k * n / mt::bench::MedianSeconds([&] { at::Tensor c = at::mm(a, b); }, seconds) / 1e9;
  };
  const double fp32_gflops = gemm_rate(at::kFloat), bf16_gflops = gemm_rate(at::kBFloat16);
  const double gemm_gflops = compute == mt::ComputePrecision::kBFloat16 ? bf16_gflops : fp32_gflops;
  const double floor_rate = gemm_gflops * 1e9 / total;

  std::printf("LibTorch %s, %s\n", TORCH_VERSION, runtime_info.c_str());
  std::printf("model MFLOP per %lldx%lld image: masker %.1f + encoder %.1f + decoder %.1f = %.1f\n",
              static_cast<long long>(o.img_size), static_cast<long long>(o.img_size), masker_flops / 1e6,
              encoder_flops / 1e6, decoder_flops / 1e6, total / 1e6);
  std::printf("GEMM %lldx%lldx%lld (encoder fc1, 16 images): fp32 %.1f GFLOP/s -> floor %.0f images/s; "
              "bf16 %.1f GFLOP/s -> floor %.0f images/s\n",
              static_cast<long long>(m), static_cast<long long>(k), static_cast<long long>(n), fp32_gflops,
              fp32_gflops * 1e9 / total, bf16_gflops, bf16_gflops * 1e9 / total);
  std::printf("models at %s; \"of floor\" is against the %s floor\n\n", mt::ComputePrecisionName(compute).c_str(),
              mt::ComputePrecisionName(compute).c_str());

  mt::PacketEncoder encoder(*mae, *masker, compute);
  mt::PacketDecoder decoder(*mae, 1 << 24, compute);
  mt::EncodeOptions eo;
  eo.selection.mode = mt::SelectionPolicy::Mode::kTopK;
  eo.selection.keep_ratio = mt::kDefaultKeepRatio;
  std::printf("| batch | ms/batch | images/s | of floor | GFLOP/s |\n|---:|---:|---:|---:|---:|\n");
  for (int64_t batch : batches) {
    std::vector<mt::EncodeRequest> requests;
    for (int64_t i = 0; i < batch; ++i)
      requests.push_back({at::rand({3, o.img_size, o.img_size}), "img" + std::to_string(i), eo});
    const double t = mt::bench::MedianSeconds([&] {
      std::vector<absl::StatusOr<mt::EncodedImage>> e = encoder.EncodeBatch(requests);
      std::vector<const mt::ImagePacket*> packets;
      for (const auto& x : e) packets.push_back(&x->packet);
      decoder.DecodeBatch(packets);
    }, seconds);
    const double rate = static_cast<double>(batch) / t;
    std::printf("| %lld | %.2f | %.1f | %.0f %% | %.1f |\n", static_cast<long long>(batch), t * 1e3, rate,
                100 * rate / floor_rate, rate * total / 1e9);
  }
  return 0;
}
