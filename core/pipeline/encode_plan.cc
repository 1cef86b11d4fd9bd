#include "core/pipeline/encode_plan.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/codec/feature_codec.h"

namespace mt {
namespace {

// Resolves the latent step level of `options` against the codec; INVALID_ARGUMENT out of range.
absl::StatusOr<int64_t> LatentLevel(const EncodeOptions& options, const TileCodec& codec) {
  if (options.latent_level < 0) return codec.default_level();
  if (options.latent_level >= codec.num_levels())
    return absl::InvalidArgumentError(absl::StrCat("latent_level ", options.latent_level,
                                                   " is outside the codec's levels 0..", codec.num_levels() - 1));
  return options.latent_level;
}

// The packet size a features/pixels request commits to before any model runs (its keep ratio
// or byte budget; a threshold may keep anything, so it is judged after encoding, by the link):
// RESOURCE_EXHAUSTED when over options.max_packet_bytes, so such a request costs no compute.
absl::Status CheckPacketBound(const EncodeRequest& req, const SelectionPolicy& policy, int64_t patches) {
  const int64_t limit = req.options.max_packet_bytes;
  if (limit <= 0 || policy.mode == SelectionPolicy::Mode::kThreshold) return absl::OkStatus();
  const bool budget = policy.mode == SelectionPolicy::Mode::kByteBudget;  // may keep up to every patch
  const int64_t kept =
      budget ? patches : std::max<int64_t>(1, std::llround(policy.keep_ratio * static_cast<double>(patches)));
  const int64_t bytes = policy.overhead_bytes + kept * policy.bytes_per_patch;
  const int64_t bound = budget ? std::min(policy.max_bytes, bytes) : bytes;
  if (bound <= limit) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "'", req.id, "' would be a ~", bound, "-byte ", PayloadKindName(req.options.payload), " packet (up to ", kept,
      " of ", patches, " patches), over the receiver's packet limit of ", limit,
      ": refused before encoding; use payload latent, a lower keep ratio or a byte budget"));
}

// The latent payload's part of a plan: level, byte budget (then selected after analysis, so the
// policy becomes a placeholder top-k), and the codec's own tiles when it codes every position.
absl::Status PlanLatent(const EncodeRequest& req, const TileCodec* latent, EncodePlan* plan) {
  const EncodeOptions& options = req.options;
  SelectionPolicy& policy = plan->policy;
  if (latent == nullptr)
    return absl::FailedPreconditionError("payload 'latent' needs a codec: start the sender with --codec_checkpoint");
  absl::StatusOr<int64_t> level = LatentLevel(options, *latent);
  if (!level.ok()) return level.status();
  plan->latent_level = *level;
  if (!latent->selects_positions()) {
    // The codec codes every latent position of its own tiles: no patch selection.
    const bool keeps_every = policy.mode == SelectionPolicy::Mode::kByteBudget ||
                             (policy.mode == SelectionPolicy::Mode::kTopK && policy.keep_ratio >= 1.0);
    if (!keeps_every || options.source != KeepSource::kMasker)
      return absl::InvalidArgumentError(absl::StrCat(
          "this sender's latent codec (", std::string(latent->name()), ") codes every position: choose the rate with ",
          "latent_level, max_bytes or target_psnr, not a keep_ratio, threshold or baseline selection"));
    absl::StatusOr<TileGrid> grid = PlanTiles(req.image.size(1), req.image.size(2), latent->tile_size());
    if (!grid.ok()) return grid.status();
    plan->grid = *grid;
  }
  if (options.target_psnr > 0 && policy.mode == SelectionPolicy::Mode::kByteBudget)
    return absl::InvalidArgumentError("target_psnr and max_bytes are two rate controls: give one");
  if (policy.mode == SelectionPolicy::Mode::kByteBudget) {
    // A latent patch's cost depends on its content: select once its symbols are known.
    if (policy.max_bytes <= 0) return absl::InvalidArgumentError("selection.max_bytes must be > 0");
    plan->latent_budget = policy.max_bytes;
    policy = SelectionPolicy{SelectionPolicy::Mode::kTopK, 0.5, 1.0};
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RequestGone(const EncodeRequest& req, const char* when) {
  if (req.cancelled && req.cancelled())
    return absl::CancelledError(absl::StrCat("'", req.id, "' was cancelled by its caller ", when, ": not computed further"));
  if (std::chrono::system_clock::now() >= req.deadline)
    return absl::DeadlineExceededError(absl::StrCat("'", req.id, "' expired ", when, ": not computed further"));
  return absl::OkStatus();
}

absl::StatusOr<EncodePlan> PlanEncode(const EncodeRequest& req, size_t index, const MaskedAutoencoderOptions& mae,
                                      const TileCodec* latent) {
  const EncodeOptions& options = req.options;
  if (absl::Status s = ValidateImageId(req.id); !s.ok()) return s;
  if (absl::Status gone = RequestGone(req, "while queued for the encoder"); !gone.ok()) return gone;
  TORCH_CHECK(req.image.dim() == 3 && req.image.size(0) == 3, "Encode expects (3, H, W), got ", req.image.sizes());
  absl::StatusOr<TileGrid> grid = PlanTiles(req.image.size(1), req.image.size(2), mae.img_size);
  if (!grid.ok()) return grid.status();
  EncodePlan plan;
  plan.request = index;
  plan.grid = *grid;
  // Selection runs over all patches of the image at once, so top-k and byte budgets spend
  // patches where the masker says they matter most, whichever tile that is.
  plan.policy = options.selection;
  if (CarriesLatents(options.payload)) {
    if (absl::Status s = PlanLatent(req, latent, &plan); !s.ok()) return s;
  } else {
    const int64_t l = mae.num_patches(), d = mae.decoder_embed_dim;
    plan.policy.bytes_per_patch = BytesPerKeptPatch(options.payload, options.precision, d, mae.patch_size);
    plan.policy.overhead_bytes = plan.grid.count() * BytesPerTile(options.payload, options.precision, d, l);
    if (absl::Status s = CheckPacketBound(req, plan.policy, plan.grid.count() * l); !s.ok()) return s;
  }
  absl::StatusOr<PatchSelector> selector = PatchSelector::Create(plan.policy);
  if (!selector.ok()) return selector.status();
  if (options.source != KeepSource::kMasker && plan.policy.mode != SelectionPolicy::Mode::kTopK)
    return absl::InvalidArgumentError("random and uniform-grid baselines need a keep_ratio selection");
  plan.selector = *std::move(selector);
  plan.tiles = SplitTiles(req.image.to(at::kFloat), plan.grid);
  // Keeping every patch needs no scores: skip the masker's forward (the latent default).
  plan.keeps_all = (plan.policy.mode == SelectionPolicy::Mode::kTopK && plan.policy.keep_ratio >= 1.0 &&
                    plan.latent_budget == 0) ||
                   (CarriesLatents(options.payload) && !latent->selects_positions());
  return plan;
}

}  // namespace mt
