// The one interface every latent codec implements (the way CompressAI's LatentCodec wraps an
// analysis, an entropy model and a synthesis): tiles → latents → one entropy-coded stream per
// image (sender), and stream → latents → tiles (receiver). The pipeline (packet encoder/decoder,
// rate control, request cost), the client and the bench hold a `const TileCodec&` and ask it
// the questions below; none of them knows which codec it is. Implementations and the checkpoint
// kind that selects each: core/codecs/tile_codec_registry.cc. How to add one:
// docs/ARCHITECTURE.md.
//
// Shapes: a "tile" is T×T pixels (T = tile_size()); a "position" is one latent vector of
// C = channels() values for patch_size()² pixels; L = grid()² positions per tile, raster order.
// A "level" is a rate level, 0 = finest, num_levels() of them in one model.
// Thread-safety: implementations are immutable after creation; every method is const, runs
// eval-mode models under NoGradGuard and may be called concurrently.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace mt {

struct MaskedAutoencoderOptions;

class TileCodec {
 public:
  virtual ~TileCodec() = default;
  TileCodec(const TileCodec&) = delete;
  TileCodec& operator=(const TileCodec&) = delete;

  // ---- What the pipeline asks instead of which codec it is.
  // Short name of the implementation ("mae_bottleneck", "conv"): logs, and the bench's method
  // column for codecs that code every position.
  virtual std::string_view name() const = 0;
  // True: the packet carries the positions the sender's masker and keep policy (keep ratio,
  // threshold, byte budget by selection, baselines) select, on the paired MAE's own tiles
  // (CheckPairedWith holds). False: every position that covers image is coded, on the codec's
  // own tiles, and the rate is set by the level alone (max_bytes / target_psnr search levels).
  virtual bool selects_positions() const = 0;
  // The level a request that names none gets, in 0..num_levels()-1.
  virtual int64_t default_level() const = 0;
  // OK when this codec can serve beside an MAE with these options; FAILED_PRECONDITION naming
  // both geometries otherwise (a selecting codec needs the MAE's tile and patch sizes).
  virtual absl::Status CheckPairedWith(const MaskedAutoencoderOptions& mae) const = 0;

  // ---- Geometry.
  int64_t tile_size() const { return tile_size_; }    // T: pixels per tile side
  int64_t patch_size() const { return patch_size_; }  // pixels per latent position side
  int64_t grid() const { return tile_size_ / patch_size_; }
  int64_t channels() const { return channels_; }      // C
  // ModelFingerprint of the whole codec (weights and coding tables): sender and receiver must agree.
  const std::string& fingerprint() const { return fingerprint_; }

  // ---- Transforms.
  // tiles (N, 3, T, T) in [0,1] → latents y (N, L, C) fp32. `content_rows` / `content_cols`
  // (0: all T) are the most pixel rows / columns of any tile that hold image rather than edge
  // fill; an implementation may skip work beyond them, with the same latents on every position
  // that holds image.
  virtual at::Tensor Analyze(const at::Tensor& tiles, int64_t content_rows = 0, int64_t content_cols = 0) const = 0;
  // Latents (N, L, C) (0 where not kept) and keep (N, L) bool → tiles (N, 3, T, T) in [0,1].
  virtual at::Tensor Reconstruct(const at::Tensor& latents, const at::Tensor& keep) const = 0;
  // Pixels Analyze / Reconstruct run over for one height×width image (request cost).
  virtual double AnalyzedPixels(int64_t height, int64_t width) const;
  virtual double SynthesizedPixels(int64_t height, int64_t width) const;
  // FLOPs per tile pixel of Analyze / Reconstruct (core/model/flops).
  virtual double analysis_flops_per_pixel() const = 0;
  virtual double synthesis_flops_per_pixel() const = 0;

  // ---- Entropy model (integer tables fixed at export: every machine derives the same CDFs).
  virtual int64_t num_levels() const = 0;
  // The level's quantisation step (its mean over channels where steps differ per channel).
  virtual double step(int64_t level) const = 0;
  // True when the streams use spatial-context tables.
  virtual bool has_context() const = 0;
  // Latents y (N, L, C) → the latents the receiver decodes at `level` when every position is sent.
  virtual at::Tensor DecodedLatents(const at::Tensor& y, int64_t level) const = 0;
  // Ideal bits of each position of y (N, L, C) at `level` (N, L) double, every position kept
  // (the contexts of the selection actually sent may differ): rate control and the bits map.
  virtual at::Tensor PositionBits(const at::Tensor& y, int64_t level) const = 0;
  // y (N, L, C) and keep (N, L) bool, N >= 1 → one stream of all N tiles (the kept positions
  // only); adds the ideal bits of keep masks and latents to *estimated_bits when given.
  virtual std::string EncodeTiles(const at::Tensor& y, const at::Tensor& keep, int64_t level,
                                  double* estimated_bits = nullptr) const = 0;
  // A stream of `count` tiles → keep (count, L) bool and decoded latents (count, L, C) (0 where
  // not kept). INVALID_ARGUMENT for a level out of range; DATA_LOSS / INVALID_ARGUMENT naming
  // `tiles[i]` for a corrupt, truncated or extended stream.
  virtual absl::Status DecodeTiles(std::string_view stream, int64_t count, int64_t level, at::Tensor* keep,
                                   at::Tensor* latents) const = 0;

 protected:
  TileCodec() = default;
  int64_t tile_size_ = 0, patch_size_ = 0, channels_ = 0;
  std::string fingerprint_;
};

}  // namespace mt
