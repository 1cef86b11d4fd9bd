#include "server/common/daemon_flags.h"

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, codec_checkpoint, mt::server::kDefaultCodecCheckpoint,
          "latent codec checkpoint (exported with coding tables) for payload 'latent'; must be the other daemon's "
          "(fingerprint checked). If the default file is missing the daemon runs without it; empty = off");

ABSL_FLAG(std::string, compute, "fp32",
          "model arithmetic: fp32; bf16 (matmuls in bf16 via autocast: ~2x the throughput under load on CPUs with "
          "avx512_bf16/amx_bf16, ~30x slower without them); or auto (bf16 only where the CPU has native bf16). "
          "Default fp32: bit-exact with the reference and faster at low concurrency (docs/RESULTS.md)");

namespace mt::server {

absl::StatusOr<ComputePrecision> ComputeFromFlags() {
  const std::string name = absl::GetFlag(FLAGS_compute);
  absl::StatusOr<ComputePrecision> compute = ParseComputePrecision(name);
  if (!compute.ok()) return compute;
  spdlog::info("model arithmetic: {}{} (CPU flags: {})", ComputePrecisionName(*compute),
               name == "auto" ? " (auto)" : "", CpuSpeedFlags());
  if (const std::string warning = ComputePrecisionWarning(*compute); !warning.empty()) spdlog::warn("--compute: {}", warning);
  return compute;
}

absl::StatusOr<DaemonCodec> CodecFromFlags(ComputePrecision compute, const MaskedAutoencoderOptions& mae) {
  const std::string path = absl::GetFlag(FLAGS_codec_checkpoint);
  absl::StatusOr<DaemonCodec> codec = LoadDaemonCodec(path, path == kDefaultCodecCheckpoint, compute, mae);
  if (!codec.ok()) return codec;
  if (codec->coder == nullptr) {
    spdlog::info("no codec{}: payload 'latent' disabled", path.empty() ? "" : " at " + path);
  } else {
    spdlog::info("codec {} ({}): {} step levels, {} latent channels", codec->coder->fingerprint(), codec->checkpoint,
                 codec->coder->num_levels(), codec->coder->options().latent_channels);
  }
  return codec;
}

}  // namespace mt::server
