// Receiver side of a transmission: validates an ImagePacket against the receiver's MAE and
// reconstructs the whole image (tiles batched through the decoder, stitched, padding cropped).
// Thread-safety: Validate()/Decode() run an eval-mode model under NoGradGuard and may be called
// concurrently; the model must not be trained meanwhile.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/codec/packet.h"
#include "core/model/mae.h"
#include "core/codecs/tile_codec.h"
#include "core/runtime/compute_precision.h"

namespace mt {

struct DecodedImage {
  at::Tensor image;  // (3, H, W) float in [0,1]: what the receiver ends with
  at::Tensor keep;   // (N, L) bool
  int64_t kept = 0;
  double decode_ms = 0;
  int batch_images = 1;  // packets that shared the decoder forward (DecodeBatch)
};

class PacketDecoder {
 public:
  // max_pixels bounds height·width of accepted packets (RESOURCE_EXHAUSTED beyond); `compute`:
  // the decoder's arithmetic (bf16 is faster on AVX-512 BF16 CPUs and changes results slightly).
  // `latent` (optional) serves latent packets; without it they are FAILED_PRECONDITION.
  PacketDecoder(MaskedAutoencoder mae, int64_t max_pixels, ComputePrecision compute = ComputePrecision::kFloat32,
                std::shared_ptr<const TileCodec> latent = nullptr);

  // Statuses: FAILED_PRECONDITION when the fingerprint, tile/patch size or feature width is not
  // this model's; RESOURCE_EXHAUSTED over max_pixels; INVALID_ARGUMENT naming the field for a
  // packet inconsistent with itself (id, sizes, tile count, bitmap, token/pixel byte counts,
  // non-finite values, payload parts the payload kind does not carry). Latent packets: the
  // fingerprint is the codec's (it covers the coding tables); a corrupt stream is DATA_LOSS or
  // INVALID_ARGUMENT naming the tile.
  absl::Status Validate(const ImagePacket& packet) const;

  // Validate(), then reconstruct.
  absl::StatusOr<DecodedImage> Decode(const ImagePacket& packet) const;

  // Several packets through one decoder forward (tiles concatenated); each result is what
  // Decode() gives for that packet alone. decode_ms is the shared batch's. `abandoned` (may be
  // null) is polled between stages and model slices: once true, the batch stops and every packet
  // not refused by validation is CANCELLED ("decoding stopped …"; the caller knows which reason).
  std::vector<absl::StatusOr<DecodedImage>> DecodeBatch(const std::vector<const ImagePacket*>& packets,
                                                        const std::function<bool()>& abandoned = nullptr) const;

  const std::string& fingerprint() const { return fingerprint_; }
  const MaskedAutoencoderOptions& mae_options() const { return mae_->options(); }
  const TileCodec* tile_codec() const { return latent_.get(); }

 private:
  struct Parsed;       // unpacked keep masks and tokens of a valid packet
  struct ParsedBatch;  // the valid packets of a batch and where their tiles sit
  // The latent packets of a batch on the codec's own tiles (!selects_positions(); results[index[j]]
  // from parsed[j]) through one synthesis.
  void DecodeOwnTiles(const std::vector<size_t>& index, const std::vector<Parsed>& parsed,
                      const std::function<void(const char*)>& check, std::chrono::steady_clock::time_point t0,
                      std::vector<absl::StatusOr<DecodedImage>>& results) const;
  // The model stages over a parsed batch, filling `results`; `check(when)` throws once the
  // batch is abandoned (between stages and model slices).
  void DecodeParsed(const std::vector<const ImagePacket*>& packets, ParsedBatch& batch,
                    const std::function<void(const char*)>& check,
                    std::vector<absl::StatusOr<DecodedImage>>& results) const;
  // Features payloads: every tile of every such packet through one decoder forward, into pred's rows.
  void DecodeFeatures(const std::vector<const ImagePacket*>& packets, const ParsedBatch& batch, const at::Tensor& keep,
                      const std::function<void(const char*)>& check, at::Tensor& pred) const;
  // Latent payloads on the MAE's tiles: every such tile through one codec synthesis → tiles
  // (rows, 3, T, T) for the batch rows *rows (undefined: none).
  at::Tensor DecodeLatents(const ParsedBatch& batch, const at::Tensor& keep,
                           const std::function<void(const char*)>& check, std::vector<int64_t>* rows) const;
  // Pixels payloads: visible patches re-encoded and decoded into pred's rows; returns each
  // packet's kept pixels as tiles (undefined for the other packets).
  std::vector<at::Tensor> DecodePixels(const std::vector<const ImagePacket*>& packets, const ParsedBatch& batch,
                                       const at::Tensor& keep, const std::function<void(const char*)>& check,
                                       at::Tensor& pred) const;
  absl::StatusOr<Parsed> Parse(const ImagePacket& packet) const;
  absl::StatusOr<Parsed> ParseLatent(const ImagePacket& packet) const;
  // INVALID_ARGUMENT for a non-positive size, RESOURCE_EXHAUSTED over max_pixels.
  absl::Status CheckImageSize(const ImagePacket& packet) const;

  // mutable: LibTorch's forward methods are non-const, though eval-mode inference changes nothing.
  mutable MaskedAutoencoder mae_;
  int64_t max_pixels_;
  ComputePrecision compute_;
  std::shared_ptr<const TileCodec> latent_;
  std::string fingerprint_;
};

}  // namespace mt
