#include "core/pipeline/packet_decoder.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <chrono>
#include <cstring>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/codec/bitmap.h"
#include "core/codec/tiling.h"
#include "core/io/fingerprint.h"
#include "core/masking/losses.h"
#include "core/masking/patch_selector.h"
#include "core/model/patchify.h"
#include "core/runtime/stopwatch.h"

namespace mt {

struct PacketDecoder::Parsed {
  TileGrid grid;
  at::Tensor keep;                   // (N, L) bool
  std::vector<at::Tensor> tokens;    // per tile (1+K, D) float, features payloads
  at::Tensor pixels;                 // (N, L, p·p·3) float in [0,1], zeros where not kept
};

PacketDecoder::PacketDecoder(MaskedAutoencoder mae, int64_t max_pixels)
    : mae_(std::move(mae)), max_pixels_(max_pixels) {
  mae_->eval();
  fingerprint_ = ModelFingerprint(*mae_);
}

absl::Status PacketDecoder::Validate(const ImagePacket& packet) const { return Parse(packet).status(); }

absl::StatusOr<PacketDecoder::Parsed> PacketDecoder::Parse(const ImagePacket& p) const {
  const MaskedAutoencoderOptions& o = mae_->options();
  if (absl::Status s = ValidateImageId(p.id); !s.ok()) return s;
  if (p.model_fingerprint != fingerprint_)
    return absl::FailedPreconditionError(absl::StrCat("model_fingerprint '", p.model_fingerprint,
                                                      "' is not the receiver's model '", fingerprint_,
                                                      "': both daemons must load the same MAE checkpoint"));
  if (p.tile_size != o.img_size || p.patch_size != o.patch_size)
    return absl::FailedPreconditionError(absl::StrCat("tile_size ", p.tile_size, " / patch_size ", p.patch_size,
                                                      ": the receiver's model needs ", o.img_size, " / ",
                                                      o.patch_size));
  if (CarriesFeatures(p.payload) && p.feature_dim != o.decoder_embed_dim)
    return absl::FailedPreconditionError(absl::StrCat("feature_dim ", p.feature_dim,
                                                      ": the receiver's decoder takes ", o.decoder_embed_dim));
  if (p.height <= 0 || p.width <= 0)
    return absl::InvalidArgumentError(absl::StrCat("height/width ", p.height, "x", p.width, " must be positive"));
  if (p.height > max_pixels_ / p.width)
    return absl::ResourceExhaustedError(absl::StrCat("image ", p.width, "x", p.height, " exceeds the receiver's ",
                                                     max_pixels_, "-pixel limit"));
  Parsed r;
  r.grid = *PlanTiles(p.height, p.width, p.tile_size);
  if (static_cast<int64_t>(p.tiles.size()) != r.grid.count())
    return absl::InvalidArgumentError(absl::StrCat("tiles: ", p.tiles.size(), " given; a ", p.width, "x", p.height,
                                                   " image in ", p.tile_size, "-pixel tiles needs ", r.grid.count()));
  const int64_t l = o.num_patches(), patch_bytes = o.patch_size * o.patch_size * 3;
  std::vector<at::Tensor> keeps;
  if (CarriesPixels(p.payload)) r.pixels = at::zeros({r.grid.count(), l, patch_bytes}, at::kFloat);
  for (int64_t i = 0; i < r.grid.count(); ++i) {
    const TilePayload& t = p.tiles[static_cast<size_t>(i)];
    auto field = [&](const absl::Status& s) {
      return absl::Status(s.code(), absl::StrCat("tiles[", i, "].", s.message()));
    };
    absl::StatusOr<at::Tensor> keep = UnpackBitmap(t.keep_bitmap, l);
    if (!keep.ok()) return field(keep.status());
    keeps.push_back(*keep);
    const int64_t k = keep->sum().item<int64_t>();
    if (CarriesFeatures(p.payload)) {
      absl::StatusOr<at::Tensor> tokens = DecodeTokens(t.features, t.feature_scales, 1 + k, p.feature_dim, p.precision);
      if (!tokens.ok()) return field(tokens.status());
      r.tokens.push_back(*tokens);
    } else if (!t.features.empty() || !t.feature_scales.empty()) {
      return field(absl::InvalidArgumentError("features: given, but payload 'pixels' carries none"));
    }
    if (CarriesPixels(p.payload)) {
      if (static_cast<int64_t>(t.pixels.size()) != k * patch_bytes)
        return field(absl::InvalidArgumentError(absl::StrCat("pixels has ", t.pixels.size(), " bytes; ", k,
                                                             " kept patches need ", k * patch_bytes)));
      at::Tensor px = at::empty({k, patch_bytes}, at::kByte);
      if (k > 0) std::memcpy(px.data_ptr(), t.pixels.data(), t.pixels.size());
      r.pixels[i].index_copy_(0, KeptIndices(*keep), px.to(at::kFloat).div_(255.0));
    } else if (!t.pixels.empty()) {
      return field(absl::InvalidArgumentError("pixels: given, but payload 'features' carries none"));
    }
  }
  r.keep = at::stack(keeps);
  return r;
}

absl::StatusOr<DecodedImage> PacketDecoder::Decode(const ImagePacket& packet) const {
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<Parsed> parsed = Parse(packet);
  if (!parsed.ok()) return parsed.status();
  torch::NoGradGuard no_grad;
  const MaskedAutoencoderOptions& o = mae_->options();
  const int64_t n = parsed->grid.count(), l = o.num_patches(), g = o.grid_size(), d = o.decoder_embed_dim;
  at::Tensor keep = parsed->keep;
  at::Tensor pixel_tiles;
  if (parsed->pixels.defined()) pixel_tiles = Unpatchify(parsed->pixels, o.patch_size, g, g);

  at::Tensor pred = at::empty({n, l, o.patch_dim()});
  if (CarriesFeatures(packet.payload)) {
    at::Tensor cls = at::empty({n, 1, d}), grid_tokens = at::zeros({n, l, d});
    for (int64_t i = 0; i < n; ++i) {
      const at::Tensor& tok = parsed->tokens[static_cast<size_t>(i)];
      cls[i][0].copy_(tok[0]);
      grid_tokens[i].index_copy_(0, KeptIndices(keep[i]), tok.narrow(0, 1, tok.size(0) - 1));
    }
    pred = mae_->Decode(cls, mae_->ApplyKeepMask(grid_tokens, keep));
  } else {
    // Visible-only encoding needs equal K across a batch: batch the tiles that keep as many.
    std::map<int64_t, std::vector<int64_t>> by_count;
    at::Tensor counts = keep.sum(1);
    for (int64_t i = 0; i < n; ++i) by_count[counts[i].item<int64_t>()].push_back(i);
    for (const auto& [k, members] : by_count) {
      at::Tensor idx = at::tensor(members, at::kLong);
      std::vector<at::Tensor> ids;
      for (int64_t i : members) ids.push_back(KeptIndices(keep[i]));
      pred.index_copy_(0, idx, mae_->DecodeVisible(pixel_tiles.index_select(0, idx), at::stack(ids)));
    }
  }
  at::Tensor tiles = mae_->PatchesToImages(pred).clamp(0.0, 1.0);
  if (pixel_tiles.defined()) tiles = CompositeImage(pixel_tiles, tiles, keep.to(at::kFloat), o.patch_size);
  DecodedImage out;
  out.image = StitchTiles(tiles, parsed->grid);
  out.keep = keep;
  out.kept = keep.sum().item<int64_t>();
  out.decode_ms = MsSince(t0);
  return out;
}

}  // namespace mt
