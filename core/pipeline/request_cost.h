// What a request costs in arithmetic, from its size and options alone (before any model runs):
// the sender's admission budget (--max_request_gflop) and the receiver's for a packet.
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "core/codec/packet.h"
#include "core/pipeline/packet_encoder.h"

namespace mt {

class TileCodec;

// FLOPs (core/model/flops) by stage, for one image.
struct RequestCost {
  double masker = 0;   // patch scores (not run when every patch is kept or a baseline selects)
  double encoder = 0;  // MAE encoder (features payloads) or the latent codec's analysis
  double decoder = 0;  // reconstructions: the receiver's decoder, or the sender's rate control
  double total() const { return masker + encoder + decoder; }
};

// The sender's work for an image of height×width with `options` on `encoder`'s models: masker,
// MAE encoder or codec analysis, and the decodes of target_psnr's level search.
RequestCost SenderCost(const PacketEncoder& encoder, int64_t height, int64_t width, const EncodeOptions& options);

// The receiver's work for a packet: per tile of the MAE the encoder on the kept patches (pixel
// payloads; all of them assumed) and the decoder, or the latent codec's synthesis per pixel.
// `latent` may be null for non-latent packets.
RequestCost ReceiverCost(const MaskedAutoencoderOptions& mae, const TileCodec* latent, PayloadKind payload,
                         int64_t height, int64_t width);

// OK when max_gflop <= 0 (no budget) or cost fits; else RESOURCE_EXHAUSTED naming the cost,
// the limit and what to change. `what`: "request 'id'" or "packet 'id'".
absl::Status CheckCostBudget(const RequestCost& cost, double max_gflop, const std::string& what);

}  // namespace mt
