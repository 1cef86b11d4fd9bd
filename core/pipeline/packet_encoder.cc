#include "core/pipeline/packet_encoder.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <chrono>
#include <cmath>

#include "core/codec/bitmap.h"
#include "core/io/fingerprint.h"
#include "core/masking/baseline_masks.h"
#include "core/model/patchify.h"
#include "core/runtime/stopwatch.h"

namespace mt {

at::Tensor QuantizedPatches(const at::Tensor& tiles, int64_t patch_size) {
  return Patchify(tiles, patch_size).mul(255.0).round().clamp(0, 255).to(at::kByte);
}

PacketEncoder::PacketEncoder(MaskedAutoencoder mae, Masker masker) : mae_(std::move(mae)), masker_(std::move(masker)) {
  TORCH_CHECK(mae_->options().img_size == masker_->options().img_size &&
                  mae_->options().patch_size == masker_->options().patch_size,
              "masker and MAE disagree on image or patch size");
  mae_->eval();
  masker_->eval();
  fingerprint_ = ModelFingerprint(*mae_);
}

absl::StatusOr<EncodedImage> PacketEncoder::Encode(const at::Tensor& image, const std::string& id,
                                                   const EncodeOptions& options) const {
  if (absl::Status s = ValidateImageId(id); !s.ok()) return s;
  TORCH_CHECK(image.dim() == 3 && image.size(0) == 3, "Encode expects (3, H, W), got ", image.sizes());
  const MaskedAutoencoderOptions& o = mae_->options();
  const int64_t l = o.num_patches(), d = o.decoder_embed_dim;
  absl::StatusOr<TileGrid> grid = PlanTiles(image.size(1), image.size(2), o.img_size);
  if (!grid.ok()) return grid.status();

  // Selection runs over all patches of the image at once, so top-k and byte budgets spend
  // patches where the masker says they matter most, whichever tile that is.
  SelectionPolicy policy = options.selection;
  policy.bytes_per_patch = BytesPerKeptPatch(options.payload, options.precision, d, o.patch_size);
  policy.overhead_bytes = grid->count() * BytesPerTile(options.payload, options.precision, d, l);
  absl::StatusOr<PatchSelector> selector = PatchSelector::Create(policy);
  if (!selector.ok()) return selector.status();

  if (options.source != KeepSource::kMasker && policy.mode != SelectionPolicy::Mode::kTopK)
    return absl::InvalidArgumentError("random and uniform-grid baselines need a keep_ratio selection");

  torch::NoGradGuard no_grad;
  EncodedImage out;
  out.grid = *grid;
  auto t0 = std::chrono::steady_clock::now();
  at::Tensor tiles = SplitTiles(image.to(at::kFloat), *grid);
  if (options.source == KeepSource::kMasker) {
    at::Tensor probs = at::sigmoid(masker_->forward(tiles));  // (N, L)
    out.keep = selector->Select(probs.reshape({1, -1})).reshape({grid->count(), l});
  } else {
    const int64_t k = std::max<int64_t>(1, std::llround(policy.keep_ratio * static_cast<double>(l)));
    at::Generator gen = at::detail::createCPUGenerator(options.seed);
    std::vector<at::Tensor> keeps;
    for (int64_t i = 0; i < grid->count(); ++i)
      keeps.push_back(options.source == KeepSource::kRandom ? RandomKeep(l, k, gen)
                                                            : UniformGridKeep(o.grid_size(), k));
    out.keep = at::stack(keeps);
  }
  out.kept = out.keep.sum().item<int64_t>();
  out.masker_ms = MsSince(t0);

  t0 = std::chrono::steady_clock::now();
  at::Tensor tokens;  // (N, 1+L, D) decoder-space tokens, cls first
  if (CarriesFeatures(options.payload)) tokens = mae_->EmbedForDecoder(mae_->EncodeFull(tiles));
  at::Tensor pixels;  // (N, L, p·p·3) uint8
  if (CarriesPixels(options.payload)) pixels = QuantizedPatches(tiles, o.patch_size);

  ImagePacket& p = out.packet;
  p.id = id;
  p.model_fingerprint = fingerprint_;
  p.height = grid->height;
  p.width = grid->width;
  p.tile_size = o.img_size;
  p.patch_size = o.patch_size;
  p.feature_dim = d;
  p.payload = options.payload;
  p.precision = options.precision;
  p.tiles.resize(static_cast<size_t>(grid->count()));
  for (int64_t i = 0; i < grid->count(); ++i) {
    TilePayload& t = p.tiles[static_cast<size_t>(i)];
    at::Tensor keep = out.keep[i];
    at::Tensor ids = KeptIndices(keep);
    t.keep_bitmap = PackBitmap(keep);
    if (tokens.defined()) {
      at::Tensor kept_tokens = at::cat({tokens[i].narrow(0, 0, 1), tokens[i].narrow(0, 1, l).index_select(0, ids)});
      EncodedTokens e = EncodeTokens(kept_tokens, options.precision);
      t.features = std::move(e.values);
      t.feature_scales = std::move(e.scales);
    }
    if (pixels.defined()) {
      at::Tensor kept_pixels = pixels[i].index_select(0, ids).contiguous();
      t.pixels.assign(static_cast<const char*>(kept_pixels.data_ptr()), static_cast<size_t>(kept_pixels.nbytes()));
    }
  }
  out.encoder_ms = MsSince(t0);
  return out;
}

}  // namespace mt
