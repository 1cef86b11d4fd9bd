// Validation of a client's SendRequest, before any model runs: id, selection, payload and
// precision enums (precision ignored for LATENT), latent_level, then the image header
// (dimensions against the pixel limit, so a decompression bomb never allocates), then decoding.
// Separate from the service so the fuzzer drives exactly this path. Thread-safety: pure function.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "core/io/image_header.h"
#include "core/masking/patch_selector.h"
#include "core/pipeline/packet_encoder.h"
#include "mt/v1/transmission.pb.h"

namespace mt::server {

// What a request's unset fields mean on this sender.
struct RequestDefaults {
  PayloadKind payload = PayloadKind::kLatent;  // for PAYLOAD_KIND_UNSPECIFIED
  double keep_ratio = kDefaultKeepRatio;       // for an unset selection (payload LATENT: 1, every patch)
};

struct ValidRequest {
  EncodeOptions options;  // selection, payload, precision, latent_level from the request (defaults filled in)
  at::Tensor image;       // (3, H, W) float in [0,1], H·W <= max_pixels
};

// INVALID_ARGUMENT naming the field (id, selection.*, payload, precision, latent_level < 0 or
// without payload LATENT, image) for a bad request; RESOURCE_EXHAUSTED when the image header
// declares more than max_pixels pixels. A latent_level beyond the codec's levels and LATENT on
// a sender without a codec are refused later by PacketEncoder (INVALID_ARGUMENT / FAILED_PRECONDITION).
// `admit` (may be null) is called with the checked header just before decoding; a status it
// returns is the request's (the sender's admission by pixels in flight: nothing is decoded then).
absl::StatusOr<ValidRequest> ValidateSendRequest(const v1::SendRequest& request, const RequestDefaults& defaults,
                                                 int64_t max_pixels,
                                                 const std::function<absl::Status(const ImageHeader&)>& admit = nullptr);

}  // namespace mt::server
