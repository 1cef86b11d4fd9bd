#include "core/pipeline/request_cost.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/model/flops.h"
#include "core/codecs/tile_codec.h"

namespace mt {
namespace {

// Tiles of side `tile` covering height×width (partial tiles count whole: they are padded).
double TilesOf(int64_t height, int64_t width, int64_t tile) {
  return static_cast<double>(((height + tile - 1) / tile) * ((width + tile - 1) / tile));
}

// Reconstructions ChooseLevelForPsnr runs at most: a bisection over the levels, then the answer.
double LevelSearchDecodes(int64_t levels) {
  return std::ceil(std::log2(static_cast<double>(std::max<int64_t>(levels, 1)))) + 1;
}

}  // namespace

RequestCost SenderCost(const PacketEncoder& encoder, int64_t height, int64_t width, const EncodeOptions& options) {
  RequestCost cost;
  const MaskedAutoencoderOptions& mae = encoder.mae_options();
  const double tiles = TilesOf(height, width, mae.img_size);
  const TileCodec* latent = encoder.tile_codec();
  const SelectionPolicy& policy = options.selection;
  if (CarriesLatents(options.payload) && latent != nullptr) {
    cost.encoder = latent->AnalyzedPixels(height, width) * latent->analysis_flops_per_pixel();
    if (options.target_psnr > 0)
      cost.decoder = latent->SynthesizedPixels(height, width) * latent->synthesis_flops_per_pixel() *
                     LevelSearchDecodes(latent->num_levels());
    if (!latent->selects_positions()) return cost;  // it codes every position: no masker
  }
  const bool keeps_all = policy.mode == SelectionPolicy::Mode::kTopK && policy.keep_ratio >= 1.0;
  if (options.source == KeepSource::kMasker && !keeps_all) cost.masker = tiles * MaskerFlops(encoder.masker_options());
  if (CarriesFeatures(options.payload)) cost.encoder = tiles * MaeEncoderFlops(mae, mae.num_patches());
  return cost;
}

RequestCost ReceiverCost(const MaskedAutoencoderOptions& mae, const TileCodec* latent, PayloadKind payload,
                         int64_t height, int64_t width) {
  RequestCost cost;
  if (CarriesLatents(payload)) {
    if (latent == nullptr) return cost;  // refused by the decoder anyway
    cost.decoder = latent->SynthesizedPixels(height, width) * latent->synthesis_flops_per_pixel();
    return cost;
  }
  const double tiles = TilesOf(height, width, mae.img_size);
  if (payload == PayloadKind::kPixels) cost.encoder = tiles * MaeEncoderFlops(mae, mae.num_patches());
  cost.decoder = tiles * MaeDecoderFlops(mae);
  return cost;
}

absl::Status CheckCostBudget(const RequestCost& cost, double max_gflop, const std::string& what) {
  const double gflop = cost.total() / 1e9;
  if (max_gflop <= 0 || gflop <= max_gflop) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrFormat(
      "%s would cost %.1f GFLOP (masker %.1f, encoder %.1f, decoder %.1f), over this daemon's budget of %.1f GFLOP "
      "per request (--max_request_gflop): send a smaller image, keep fewer patches, or use the latent payload",
      what, gflop, cost.masker / 1e9, cost.encoder / 1e9, cost.decoder / 1e9, max_gflop));
}

}  // namespace mt
