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
#include "core/runtime/compute_precision.h"

namespace mt {

// Who picks the kept patches: the masker, or a baseline at the same count (for benchmarks).
enum class KeepSource {
  kMasker,       // the selection policy over masker probabilities
  kRandom,       // round(keep_ratio·L) random patches per tile (needs a kTopK policy)
  kUniformGrid,  // round(keep_ratio·L) patches on a regular lattice per tile (needs kTopK)
};

struct EncodeOptions {
  // kThreshold: per patch; kTopK: keep_ratio of all patches of the image; kByteBudget: max_bytes
  // of payload for the whole image (bytes_per_patch/overhead_bytes are filled in by Encode).
  SelectionPolicy selection;
  PayloadKind payload = PayloadKind::kFeatures;
  Precision precision = Precision::kFp16;
  KeepSource source = KeepSource::kMasker;
  uint64_t seed = 0;  // kRandom: generator seed
  int64_t latent_level = -1;  // latent payload: quantisation step level (-1: the codec's default_level())
  double target_psnr = 0;     // latent payload, > 0: the coarsest level whose reconstruction reaches this PSNR (dB)
  // > 0: refuse (RESOURCE_EXHAUSTED, before any model runs) a features/pixels request whose packet
  // would exceed this many bytes by its keep ratio or byte budget (the receiver's packet limit).
  int64_t max_packet_bytes = 0;
  // Latent payload: also report each position's ideal bits (EncodedImage.position_bits), for
  // pictures of where the bytes went.
  bool position_bits = false;
};

struct EncodeRequest {
  at::Tensor image;  // (3, H, W) float in [0,1], any size
  std::string id;
  EncodeOptions options;
  // Past this, the request is answered DEADLINE_EXCEEDED without being computed (it waited in a
  // queue behind others; its caller has gone). max() = none.
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();
  // True once the caller has gone (may be null; polled from the encoding thread). The deadline
  // and this are checked when the batch starts, between its stages and between model slices: a
  // batch whose every request is gone stops computing, each answered CANCELLED or DEADLINE_EXCEEDED.
  std::function<bool()> cancelled = nullptr;
};

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
