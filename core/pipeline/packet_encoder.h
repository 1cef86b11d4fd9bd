// Sender side of a transmission: image → tiles → masker → patch selection → MAE encoder →
// ImagePacket holding only what is kept. Tiles go through the models as one batch.
// Thread-safety: Encode() runs eval-mode models under NoGradGuard and may be called
// concurrently; the models must not be trained meanwhile.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/codec/packet.h"
#include "core/codec/tiling.h"
#include "core/masking/patch_selector.h"
#include "core/model/mae.h"
#include "core/model/masker.h"
#include "core/codecs/tile_codec.h"
#include "core/pipeline/encode_request.h"
#include "core/runtime/compute_precision.h"

namespace mt {

struct EncodePlan;  // core/pipeline/encode_plan.h

struct EncodedImage {
  ImagePacket packet;
  TileGrid grid;
  at::Tensor keep;          // (N, L) bool, kept patches per tile
  int64_t kept = 0;         // patches kept over all tiles
  double masker_ms = 0;     // masker + selection
  double encoder_ms = 0;    // MAE encoder + decoder_embed + quantisation (0 for pixels); latent: + entropy coding
  double estimated_bits = 0;  // latent payload: the coding tables' ideal bits (real bytes are a little more)
  // Latent payload with options.position_bits: (N, L) float, ideal bits of each position's symbols
  // under the level's tables (0 where not kept; the keep masks' bits not included). Else undefined.
  at::Tensor position_bits;
  int batch_images = 1;     // images that shared the forward passes (EncodeBatch)
};

class PacketEncoder {
 public:
  // The models must agree on image and patch size (TORCH_CHECK: programmer error). `compute`:
  // the models' arithmetic (bf16 is faster on AVX-512 BF16 CPUs and changes results slightly).
  // `latent` (optional) serves the latent payload; without it such requests are FAILED_PRECONDITION.
  PacketEncoder(MaskedAutoencoder mae, Masker masker, ComputePrecision compute = ComputePrecision::kFloat32,
                std::shared_ptr<const TileCodec> latent = nullptr);

  // image (3, H, W) float in [0,1], any size → packet. INVALID_ARGUMENT for a bad id or policy.
  absl::StatusOr<EncodedImage> Encode(const at::Tensor& image, const std::string& id,
                                      const EncodeOptions& options) const;

  // Several images through one masker and one encoder forward (their tiles concatenated); each
  // result is what Encode() gives for that request alone. Timings are the shared batch's.
  std::vector<absl::StatusOr<EncodedImage>> EncodeBatch(const std::vector<EncodeRequest>& requests) const;

  const std::string& fingerprint() const { return fingerprint_; }
  const MaskedAutoencoderOptions& mae_options() const { return mae_->options(); }
  const MaskerOptions& masker_options() const { return masker_->options(); }
  const TileCodec* tile_codec() const { return latent_.get(); }
  // The payload with the fewest bytes at equal quality that this encoder can produce: kLatent with
  // a codec, else kPixels (docs/RESULTS.md: ~4 bpp where features need ~22).
  PayloadKind best_payload() const { return latent_ ? PayloadKind::kLatent : PayloadKind::kPixels; }

 private:
  struct BatchPlan;  // the validated requests of a batch and each stage's inputs (packet_encoder.cc)
  // The model stages of a planned batch, filling `results`; `check(when)` throws once every
  // request is gone (called between stages and model slices).
  void EncodeStages(const std::vector<EncodeRequest>& requests, BatchPlan& batch,
                    const std::function<void(const char*)>& check,
                    std::vector<absl::StatusOr<EncodedImage>>& results) const;
  // Masker probabilities (masker tiles, L) of the batch's tiles that need them (undefined: none).
  at::Tensor RunMasker(const BatchPlan& batch, const std::function<void(const char*)>& check) const;
  // The kept patches of one planned request: its selection over `probs`, a baseline, every patch,
  // or (a codec on its own tiles) every position that covers image.
  EncodedImage SelectKeeps(const EncodeOptions& options, const EncodePlan& plan, const at::Tensor& probs) const;
  // Decoder-space tokens (feature tiles, 1+L, D), cls first (undefined: no features requested).
  at::Tensor RunEncoder(const BatchPlan& batch, const std::function<void(const char*)>& check) const;
  // The codec's latents (latent tiles, L, C) (undefined: no latent payload in the batch).
  at::Tensor RunAnalysis(const BatchPlan& batch) const;
  // Fills out->packet for one request from the stages' outputs and its kept patches.
  void FillPacket(const EncodeRequest& req, const EncodePlan& plan, const at::Tensor& tokens,
                  const at::Tensor& latents, const at::Tensor& probs, EncodedImage* out) const;
  // The latent payload's rate control and entropy coding (may change out->keep under a budget).
  void CodeLatents(const EncodeRequest& req, const EncodePlan& plan, const at::Tensor& latents,
                   const at::Tensor& probs, EncodedImage* out) const;

  // mutable: LibTorch's forward methods are non-const, though eval-mode inference changes nothing.
  mutable MaskedAutoencoder mae_;
  mutable Masker masker_;
  ComputePrecision compute_;
  std::shared_ptr<const TileCodec> latent_;
  std::string fingerprint_;
};

// tiles (N, 3, T, T) float in [0,1] → (N, L, p·p·3) uint8 patches (y, x, rgb order).
at::Tensor QuantizedPatches(const at::Tensor& tiles, int64_t patch_size);

}  // namespace mt
