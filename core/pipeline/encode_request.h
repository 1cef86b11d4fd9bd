// What a caller asks the sender's encoder for: one image, its id, how to select and code it,
// and when the answer is no longer wanted (core/pipeline/packet_encoder runs it).
// Thread-safety: plain values (EncodeRequest::cancelled is polled from the encoding thread).
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "core/codec/packet.h"
#include "core/masking/patch_selector.h"

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

}  // namespace mt
