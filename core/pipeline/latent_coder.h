// The latent payload's model side: tiles → latents → per-tile entropy-coded streams (sender),
// and streams → latents → reconstructed tiles (receiver), with the integer coding tables a
// LatentCodec checkpoint stores (one set per quantisation step level).
// Thread-safety: immutable after Create(); every method is const, runs eval-mode models under
// NoGradGuard and may be called concurrently.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/entropy/latent_context.h"
#include "core/model/latent_codec.h"
#include "core/runtime/compute_precision.h"

namespace mt {

class LatentCoder {
 public:
  // FAILED_PRECONDITION if the codec holds no coding tables (train checkpoints: run
  // `mt-train export`) or a stored table is malformed (the message names level and channel).
  // Codes with the codec's spatial-context tables when it has them (latent_context).
  static absl::StatusOr<std::shared_ptr<const LatentCoder>> Create(LatentCodec codec,
                                                                  ComputePrecision compute = ComputePrecision::kFloat32);

  // tiles (N, 3, T, T) in [0,1] → latents y (N, L, C) fp32 (full-context encoder + analysis).
  at::Tensor Analyze(const at::Tensor& tiles) const;
  // y (N, L, C) → integer symbols round(y / Δ_level) (N, L, C) int32.
  at::Tensor Quantize(const at::Tensor& y, int64_t level) const;
  // Ideal bits of each patch's symbols (N, L) under the level's tables (rate control), with every
  // patch of the tile kept (the spatial contexts of the selection actually sent may differ).
  at::Tensor PatchBits(const at::Tensor& symbols, int64_t level) const;
  // symbols (N, L, C) int32 and keep (N, L) bool, N >= 1 → one stream of all N tiles; adds the
  // tables' ideal bits (keep masks + symbols) to *estimated_bits when given.
  std::string EncodeTiles(const at::Tensor& symbols, const at::Tensor& keep, int64_t level,
                          double* estimated_bits = nullptr) const;
  // A stream of `count` tiles → keep (count, L) bool and dequantised latents Δ·q (count, L, C)
  // (0 where not kept). INVALID_ARGUMENT for a level out of range; DATA_LOSS/INVALID_ARGUMENT
  // naming `tiles[i]` for a corrupt, truncated or extended stream.
  absl::Status DecodeTiles(std::string_view stream, int64_t count, int64_t level, at::Tensor* keep,
                           at::Tensor* latents) const;
  // Latents (N, L, C) and keep (N, L) → tiles (N, 3, T, T) clamped to [0,1].
  at::Tensor Reconstruct(const at::Tensor& latents, const at::Tensor& keep) const;

  int64_t num_levels() const { return static_cast<int64_t>(tables_.size()); }
  double step(int64_t level) const { return steps_.at(static_cast<size_t>(level)); }
  // ModelFingerprint of the whole codec (weights and coding tables).
  const std::string& fingerprint() const { return fingerprint_; }
  const LatentCodecOptions& options() const { return codec_->options(); }
  // True when the streams use spatial-context tables (not the factorized prior's).
  bool has_context() const { return tables_.empty() ? false : tables_[0].buckets > 0; }

 private:
  LatentCoder(LatentCodec codec, ComputePrecision compute) : codec_(std::move(codec)), compute_(compute) {}

  mutable LatentCodec codec_;  // mutable: LibTorch's forward is non-const; eval inference changes nothing
  ComputePrecision compute_;
  std::vector<double> steps_;
  std::vector<LatentTables> tables_;  // [level]: the context tables when the codec has them, else factorized
  std::string fingerprint_;
};

}  // namespace mt
