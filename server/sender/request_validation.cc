#include "server/sender/request_validation.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "core/codec/packet.h"
#include "core/io/image_header.h"
#include "core/io/image_io.h"
#include "core/masking/patch_selector.h"
#include "server/common/packet_proto.h"

namespace mt::server {
namespace {

// Request selection → core policy. INVALID_ARGUMENT names the field.
absl::StatusOr<SelectionPolicy> ToPolicy(const v1::Selection& s, double default_keep_ratio) {
  SelectionPolicy p;
  switch (s.policy_case()) {
    case v1::Selection::kThreshold:
      p.mode = SelectionPolicy::Mode::kThreshold;
      p.threshold = s.threshold();
      break;
    case v1::Selection::kMaxBytes:
      p.mode = SelectionPolicy::Mode::kByteBudget;
      p.max_bytes = s.max_bytes();
      if (p.max_bytes <= 0)
        return absl::InvalidArgumentError(absl::StrCat("selection.max_bytes must be > 0, got ", p.max_bytes));
      break;
    case v1::Selection::kKeepRatio:
      p.mode = SelectionPolicy::Mode::kTopK;
      p.keep_ratio = s.keep_ratio();
      break;
    case v1::Selection::POLICY_NOT_SET:
      p.mode = SelectionPolicy::Mode::kTopK;
      p.keep_ratio = default_keep_ratio;
      break;
  }
  return p;
}

// latent_level / target_psnr → options (unset: -1, the sender's default level). Its upper bound, and
// whether the sender has a codec at all, are PacketEncoder's checks: it holds the codec.
absl::Status ToLatentLevel(const v1::SendRequest& request, EncodeOptions* options) {
  if (request.target_psnr() != 0) {
    if (!CarriesLatents(options->payload) || !(request.target_psnr() > 0 && request.target_psnr() < 100))
      return absl::InvalidArgumentError(absl::StrCat("target_psnr: must be in (0, 100) dB and needs payload LATENT, got ",
                                                     request.target_psnr(), " with payload ",
                                                     PayloadKindName(options->payload)));
    if (request.has_latent_level())
      return absl::InvalidArgumentError("target_psnr picks the latent level itself: do not also set latent_level");
    options->target_psnr = request.target_psnr();
  }
  if (!request.has_latent_level()) return absl::OkStatus();
  if (!CarriesLatents(options->payload))
    return absl::InvalidArgumentError(absl::StrCat("latent_level: only payload LATENT has step levels (payload is ",
                                                   PayloadKindName(options->payload), ")"));
  if (request.latent_level() < 0)
    return absl::InvalidArgumentError(absl::StrCat("latent_level must be >= 0 (unset: the sender's default), got ",
                                                   request.latent_level()));
  options->latent_level = request.latent_level();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ValidRequest> ValidateSendRequest(const v1::SendRequest& request, const RequestDefaults& defaults,
                                                 int64_t max_pixels,
                                                 const std::function<absl::Status(const ImageHeader&)>& admit) {
  // Everything cheap first.
  if (absl::Status s = ValidateImageId(request.id()); !s.ok())
    return absl::InvalidArgumentError(absl::StrCat("id: ", s.message()));
  if (request.image().empty()) return absl::InvalidArgumentError("image: empty");
  absl::StatusOr<PayloadKind> payload = FromProto(request.payload(), defaults.payload, "payload");
  if (!payload.ok()) return payload.status();
  // The latent payload keeps every patch unless told otherwise: above ~1.2 bpp that beats any
  // masked selection at equal bytes on the held-out photos (docs/RESULTS.md, "Latent codec").
  const double default_ratio = CarriesLatents(*payload) ? 1.0 : defaults.keep_ratio;
  absl::StatusOr<SelectionPolicy> policy = ToPolicy(request.selection(), default_ratio);
  if (!policy.ok()) return policy.status();
  // Byte budgets are checked by the encoder, which knows the per-patch cost.
  if (policy->mode != SelectionPolicy::Mode::kByteBudget)
    if (absl::StatusOr<PatchSelector> selector = PatchSelector::Create(*policy); !selector.ok())
      return absl::InvalidArgumentError(absl::StrCat("selection.", selector.status().message()));
  ValidRequest out;
  out.options.selection = *policy;
  out.options.payload = *payload;
  if (!CarriesLatents(*payload)) {  // a latent stream has no precision: the field is ignored
    absl::StatusOr<Precision> precision = FromProto(request.precision(), Precision::kFp16, "precision");
    if (!precision.ok()) return precision.status();
    out.options.precision = *precision;
  }
  if (absl::Status s = ToLatentLevel(request, &out.options); !s.ok()) return s;

  // The header's dimensions are checked before decoding, so a decompression bomb never allocates.
  absl::StatusOr<ImageHeader> header = PeekImageHeader(request.image());
  if (!header.ok()) return absl::InvalidArgumentError(absl::StrCat("image: ", header.status().message()));
  if (header->height > max_pixels / header->width)
    return absl::ResourceExhaustedError(absl::StrCat("image: ", header->format, " header declares ", header->width, "x",
                                                     header->height, ", over the sender's ", max_pixels,
                                                     "-pixel limit"));
  if (admit) {
    if (absl::Status s = admit(*header); !s.ok()) return s;
  }
  absl::StatusOr<at::Tensor> image = DecodeImageRgb(request.image());
  if (!image.ok()) return absl::InvalidArgumentError(absl::StrCat("image: ", image.status().message()));
  if (image->size(1) != header->height || image->size(2) != header->width)
    return absl::InvalidArgumentError(absl::StrCat("image: decoded ", image->size(2), "x", image->size(1), " but the ",
                                                   header->format, " header declares ", header->width, "x",
                                                   header->height));
  out.image = *std::move(image);
  return out;
}

}  // namespace mt::server
