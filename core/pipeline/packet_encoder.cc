#include "core/ops/chunked.h"
#include "core/pipeline/packet_encoder.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <chrono>
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

#include "core/codec/bitmap.h"
#include "core/io/fingerprint.h"
#include "core/masking/baseline_masks.h"
#include "core/model/patchify.h"
#include "core/pipeline/encode_plan.h"
#include "core/pipeline/latent_rate_control.h"
#include "core/runtime/compute_precision.h"
#include "core/runtime/cpu_runtime.h"
#include "core/runtime/stopwatch.h"

namespace mt {

at::Tensor QuantizedPatches(const at::Tensor& tiles, int64_t patch_size) {
  // Element-wise, so in slices and to uint8 before the patch reshuffle: in one piece a 16 MP
  // photo held four 192 MB float copies at once (heaptrack), the sender's peak.
  return ForwardInChunks(kForwardChunkRows, [&](const at::Tensor& t) {
    return Patchify(t.mul(255.0).round_().clamp_(0, 255).to(at::kByte), patch_size);
  }, tiles);
}

PacketEncoder::PacketEncoder(MaskedAutoencoder mae, Masker masker, ComputePrecision compute,
                             std::shared_ptr<const TileCodec> latent)
    : mae_(std::move(mae)), masker_(std::move(masker)), compute_(compute), latent_(std::move(latent)) {
  TORCH_CHECK(mae_->options().img_size == masker_->options().img_size &&
                  mae_->options().patch_size == masker_->options().patch_size,
              "masker and MAE disagree on image or patch size");
  mae_->eval();
  masker_->eval();
  fingerprint_ = ModelFingerprint(*mae_);
}

absl::StatusOr<EncodedImage> PacketEncoder::Encode(const at::Tensor& image, const std::string& id,
                                                   const EncodeOptions& options) const {
  return std::move(EncodeBatch({EncodeRequest{image, id, options}})[0]);
}

// A batch once planned: its requests' plans and the model inputs of each stage.
struct PacketEncoder::BatchPlan {
  std::vector<EncodePlan> plans;
  std::vector<at::Tensor> masker_in, encoder_in, latent_in;  // tiles per stage, in plan order
  int64_t masker_tiles = 0, feature_tiles = 0, latent_tiles = 0;

  // Appends `plan`, its tiles to the inputs of the stages its request needs.
  void Add(EncodePlan plan, const EncodeOptions& options) {
    const int64_t n = plan.grid.count();
    plan.first_tile = masker_tiles;
    if (options.source == KeepSource::kMasker && !plan.keeps_all) {
      masker_in.push_back(plan.tiles);
      masker_tiles += n;
    }
    if (CarriesFeatures(options.payload)) {
      plan.first_feature = feature_tiles;
      encoder_in.push_back(plan.tiles);
      feature_tiles += n;
    }
    if (CarriesLatents(options.payload)) {
      plan.first_latent = latent_tiles;
      latent_in.push_back(plan.tiles);
      latent_tiles += n;
    }
    plans.push_back(std::move(plan));
  }
};

namespace {

// Thrown between model slices once every request of the batch is gone (caught in EncodeBatch).
struct BatchAbandoned {
  const char* when;
};

}  // namespace

std::vector<absl::StatusOr<EncodedImage>> PacketEncoder::EncodeBatch(const std::vector<EncodeRequest>& requests) const {
  ApplyIntraOpThreadsToThisThread();  // daemons call this from worker threads
  std::vector<absl::StatusOr<EncodedImage>> results(requests.size(), absl::UnknownError("not encoded"));
  BatchPlan batch;
  for (size_t r = 0; r < requests.size(); ++r) {
    absl::StatusOr<EncodePlan> plan = PlanEncode(requests[r], r, mae_->options(), latent_.get());
    if (!plan.ok()) {
      results[r] = plan.status();
      continue;
    }
    batch.Add(*std::move(plan), requests[r].options);
  }
  if (batch.plans.empty()) return results;
  // Between stages and model slices: stop once no request of the batch is still wanted.
  auto check = [&](const char* when) {
    for (const EncodePlan& plan : batch.plans)
      if (RequestGone(requests[plan.request], when).ok()) return;
    throw BatchAbandoned{when};
  };
  try {
    EncodeStages(requests, batch, check, results);
  } catch (const BatchAbandoned& a) {
    for (const EncodePlan& plan : batch.plans) results[plan.request] = RequestGone(requests[plan.request], a.when);
  }
  return results;
}

void PacketEncoder::EncodeStages(const std::vector<EncodeRequest>& requests, BatchPlan& batch,
                                 const std::function<void(const char*)>& check,
                                 std::vector<absl::StatusOr<EncodedImage>>& results) const {
  torch::NoGradGuard no_grad;
  auto t0 = std::chrono::steady_clock::now();
  const at::Tensor probs = RunMasker(batch, check);  // (masker tiles, L)
  std::vector<EncodedImage> out;
  for (const EncodePlan& plan : batch.plans) out.push_back(SelectKeeps(requests[plan.request].options, plan, probs));
  const double masker_ms = MsSince(t0);

  t0 = std::chrono::steady_clock::now();
  check("after the masker");
  const at::Tensor tokens = RunEncoder(batch, check);  // (feature tiles, 1+L, D)
  const at::Tensor latents = RunAnalysis(batch);       // (latent tiles, L, C)
  for (size_t i = 0; i < batch.plans.size(); ++i)
    FillPacket(requests[batch.plans[i].request], batch.plans[i], tokens, latents, probs, &out[i]);
  const double encoder_ms = MsSince(t0);
  for (size_t i = 0; i < batch.plans.size(); ++i) {
    out[i].masker_ms = masker_ms;
    out[i].encoder_ms = encoder_ms;
    out[i].batch_images = static_cast<int>(batch.plans.size());
    results[batch.plans[i].request] = std::move(out[i]);
  }
}

at::Tensor PacketEncoder::RunMasker(const BatchPlan& batch, const std::function<void(const char*)>& check) const {
  if (batch.masker_in.empty()) return at::Tensor();
  ComputePrecisionScope precision(compute_);
  return ForwardInChunks(kForwardChunkRows, [&](const at::Tensor& x) {
    check("during the masker");
    return at::sigmoid(masker_->forward(x).to(at::kFloat));
  }, at::cat(batch.masker_in));
}

EncodedImage PacketEncoder::SelectKeeps(const EncodeOptions& options, const EncodePlan& plan,
                                        const at::Tensor& probs) const {
  const MaskedAutoencoderOptions& o = mae_->options();
  const int64_t l = o.num_patches(), n = plan.grid.count();
  EncodedImage out;
  out.grid = plan.grid;
  if (CarriesLatents(options.payload) && !latent_->selects_positions()) {
    out.keep = ImageCells(plan.grid, latent_->patch_size());
  } else if (options.source == KeepSource::kMasker && plan.keeps_all) {
    out.keep = at::ones({n, l}, at::kBool);
  } else if (options.source == KeepSource::kMasker) {
    out.keep = plan.selector->Select(probs.narrow(0, plan.first_tile, n).reshape({1, -1})).reshape({n, l});
  } else {
    const int64_t k = std::max<int64_t>(1, std::llround(plan.policy.keep_ratio * static_cast<double>(l)));
    at::Generator gen = at::detail::createCPUGenerator(options.seed);
    std::vector<at::Tensor> keeps;
    for (int64_t t = 0; t < n; ++t)
      keeps.push_back(options.source == KeepSource::kRandom ? RandomKeep(l, k, gen) : UniformGridKeep(o.grid_size(), k));
    out.keep = at::stack(keeps);
  }
  out.kept = out.keep.sum().item<int64_t>();
  return out;
}

at::Tensor PacketEncoder::RunEncoder(const BatchPlan& batch, const std::function<void(const char*)>& check) const {
  if (batch.encoder_in.empty()) return at::Tensor();
  ComputePrecisionScope precision(compute_);
  return ForwardInChunks(kForwardChunkRows, [&](const at::Tensor& x) {
    check("during the encoder");
    return mae_->EmbedForDecoder(mae_->EncodeFull(x)).to(at::kFloat);
  }, at::cat(batch.encoder_in));
}

at::Tensor PacketEncoder::RunAnalysis(const BatchPlan& batch) const {
  if (batch.latent_in.empty()) return at::Tensor();
  // Each tile's image rows and columns: the last row and column of an image's tiles (and a photo
  // smaller than one tile) are mostly edge fill, which the analysis need not run over.
  std::vector<TileRegion> content;
  for (const EncodePlan& plan : batch.plans) {
    if (plan.first_latent < 0) continue;
    for (int64_t t = 0; t < plan.grid.count(); ++t) content.push_back(TileContent(plan.grid, t));
  }
  return ForwardByRegion(at::cat(batch.latent_in), content, [&](const at::Tensor& tiles, TileRegion region) {
    return latent_->Analyze(tiles, region.first, region.second);
  });
}

void PacketEncoder::FillPacket(const EncodeRequest& req, const EncodePlan& plan, const at::Tensor& tokens,
                               const at::Tensor& latents, const at::Tensor& probs, EncodedImage* out) const {
  const MaskedAutoencoderOptions& o = mae_->options();
  ImagePacket& p = out->packet;
  p.id = req.id;
  p.model_fingerprint = fingerprint_;
  p.height = plan.grid.height;
  p.width = plan.grid.width;
  p.tile_size = o.img_size;
  p.patch_size = o.patch_size;
  p.feature_dim = o.decoder_embed_dim;
  p.payload = req.options.payload;
  p.precision = req.options.precision;
  if (plan.first_latent >= 0) return CodeLatents(req, plan, latents, probs, out);
  at::Tensor pixels;  // (N, L, p·p·3) uint8
  if (CarriesPixels(req.options.payload)) pixels = QuantizedPatches(plan.tiles, o.patch_size);
  p.tiles.resize(static_cast<size_t>(plan.grid.count()));
  for (int64_t t = 0; t < plan.grid.count(); ++t) {
    TilePayload& tile = p.tiles[static_cast<size_t>(t)];
    at::Tensor keep = out->keep[t];
    at::Tensor ids = KeptIndices(keep);
    tile.keep_bitmap = PackBitmap(keep);
    if (plan.first_feature >= 0) {
      at::Tensor all = tokens[plan.first_feature + t];
      at::Tensor kept_tokens = at::cat({all.narrow(0, 0, 1), all.narrow(0, 1, o.num_patches()).index_select(0, ids)});
      EncodedTokens e = EncodeTokens(kept_tokens, req.options.precision);
      tile.features = std::move(e.values);
      tile.feature_scales = std::move(e.scales);
    }
    if (pixels.defined()) {
      at::Tensor kept_pixels = pixels[t].index_select(0, ids).contiguous();
      tile.pixels.assign(static_cast<const char*>(kept_pixels.data_ptr()), static_cast<size_t>(kept_pixels.nbytes()));
    }
  }
}

void PacketEncoder::CodeLatents(const EncodeRequest& req, const EncodePlan& plan, const at::Tensor& latents,
                                const at::Tensor& probs, EncodedImage* out) const {
  const int64_t n = plan.grid.count();
  const at::Tensor probs_here = probs.defined() ? probs.narrow(0, plan.first_tile, n) : at::Tensor();
  const at::Tensor mine = latents.narrow(0, plan.first_latent, n);
  int64_t level = plan.latent_level;
  if (req.options.target_psnr > 0)
    level = ChooseLevelForPsnr(*latent_, mine, out->keep, req.image.to(at::kFloat), plan.grid, req.options.target_psnr)
                .level;
  LatentTiles coded = !latent_->selects_positions() && plan.latent_budget > 0
                          ? EncodeWithinBytes(*latent_, mine, out->keep, plan.latent_budget, &level)
                          : EncodeSelectedLatents(*latent_, mine, out->keep, probs_here, level, plan.latent_budget);
  ImagePacket& p = out->packet;
  p.model_fingerprint = latent_->fingerprint();
  p.tile_size = latent_->tile_size();
  p.patch_size = latent_->patch_size();
  p.feature_dim = latent_->channels();
  p.latent_level = level;
  out->keep = coded.keep;
  out->kept = coded.keep.sum().item<int64_t>();
  out->estimated_bits = coded.estimated_bits;
  if (req.options.position_bits)
    out->position_bits = latent_->PositionBits(mine, level).to(at::kFloat) * coded.keep.to(at::kFloat);
  p.latent = std::move(coded.stream);
}

}  // namespace mt
