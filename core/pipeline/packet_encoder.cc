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

namespace {

// One request of a batch, once validated: where its tiles sit in the batch and how to select.
struct Plan {
  size_t request = 0;
  TileGrid grid;
  SelectionPolicy policy;
  PatchSelector selector;
  at::Tensor tiles;          // (N, 3, T, T)
  int64_t first_tile = 0;    // in the batch's masker input
  int64_t first_feature = -1;  // in the batch's encoder input (-1: payload carries no features)
  int64_t first_latent = -1;   // in the batch's latent-analysis input (-1: not a latent payload)
  int64_t latent_level = 0;    // latent: the step level
  int64_t latent_budget = 0;   // latent with a byte budget: max_bytes (selection happens after analysis)
  bool keeps_all = false;      // top-k of every patch: the masker's scores cannot change the selection
};

}  // namespace

// A batch once planned: its requests' plans and the model inputs of each stage.
struct PacketEncoder::BatchPlan {
  std::vector<Plan> plans;
  std::vector<at::Tensor> masker_in, encoder_in, latent_in;  // tiles per stage, in plan order
};

namespace {

// Resolves the latent step level of `options` against the coder; INVALID_ARGUMENT out of range.
absl::StatusOr<int64_t> LatentLevel(const EncodeOptions& options, const TileCodec& coder) {
  if (options.latent_level < 0)
    return coder.default_level();
  if (options.latent_level >= coder.num_levels())
    return absl::InvalidArgumentError(absl::StrCat("latent_level ", options.latent_level, " is outside the codec's levels 0..",
                                                   coder.num_levels() - 1));
  return options.latent_level;
}

// Why `req` need not be computed any more, `when` (OK: its caller still waits).
absl::Status Gone(const EncodeRequest& req, const char* when) {
  if (req.cancelled && req.cancelled())
    return absl::CancelledError(absl::StrCat("'", req.id, "' was cancelled by its caller ", when, ": not computed further"));
  if (std::chrono::system_clock::now() >= req.deadline)
    return absl::DeadlineExceededError(absl::StrCat("'", req.id, "' expired ", when, ": not computed further"));
  return absl::OkStatus();
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

// Thrown between model slices once every request of the batch is gone (caught in EncodeBatch).
struct BatchAbandoned {
  const char* when;
};

}  // namespace

std::vector<absl::StatusOr<EncodedImage>> PacketEncoder::EncodeBatch(const std::vector<EncodeRequest>& requests) const {
  ApplyIntraOpThreadsToThisThread();  // daemons call this from worker threads
  const MaskedAutoencoderOptions& o = mae_->options();
  const int64_t l = o.num_patches(), d = o.decoder_embed_dim;
  std::vector<absl::StatusOr<EncodedImage>> results(requests.size(), absl::UnknownError("not encoded"));
  BatchPlan batch;
  std::vector<Plan>& plans = batch.plans;
  std::vector<at::Tensor>& masker_in = batch.masker_in;
  std::vector<at::Tensor>& encoder_in = batch.encoder_in;
  std::vector<at::Tensor>& latent_in = batch.latent_in;
  int64_t tiles = 0, feature_tiles = 0, latent_tiles = 0;
  for (size_t r = 0; r < requests.size(); ++r) {
    const EncodeRequest& req = requests[r];
    const EncodeOptions& options = req.options;
    if (absl::Status s = ValidateImageId(req.id); !s.ok()) {
      results[r] = s;
      continue;
    }
    if (absl::Status gone = Gone(req, "while queued for the encoder"); !gone.ok()) {
      results[r] = gone;
      continue;
    }
    TORCH_CHECK(req.image.dim() == 3 && req.image.size(0) == 3, "Encode expects (3, H, W), got ", req.image.sizes());
    absl::StatusOr<TileGrid> grid = PlanTiles(req.image.size(1), req.image.size(2), o.img_size);
    if (!grid.ok()) {
      results[r] = grid.status();
      continue;
    }
    // Selection runs over all patches of the image at once, so top-k and byte budgets spend
    // patches where the masker says they matter most, whichever tile that is.
    SelectionPolicy policy = options.selection;
    int64_t latent_level = 0, latent_budget = 0;
    if (CarriesLatents(options.payload)) {
      if (latent_ == nullptr) {
        results[r] = absl::FailedPreconditionError("payload 'latent' needs a codec: start the sender with --codec_checkpoint");
        continue;
      }
      absl::StatusOr<int64_t> level = LatentLevel(options, *latent_);
      if (!level.ok()) {
        results[r] = level.status();
        continue;
      }
      latent_level = *level;
      if (!latent_->selects_positions()) {
        // The codec codes every latent position of its own tiles: no patch selection.
        const bool keeps_every = policy.mode == SelectionPolicy::Mode::kByteBudget ||
                                 (policy.mode == SelectionPolicy::Mode::kTopK && policy.keep_ratio >= 1.0);
        if (!keeps_every || options.source != KeepSource::kMasker) {
          results[r] = absl::InvalidArgumentError(
              absl::StrCat("this sender's latent codec (", std::string(latent_->name()), ") codes every position: choose the rate with "
                           "latent_level, max_bytes or target_psnr, not a keep_ratio, threshold or baseline selection"));
          continue;
        }
        grid = PlanTiles(req.image.size(1), req.image.size(2), latent_->tile_size());
      }
      if (options.target_psnr > 0 && policy.mode == SelectionPolicy::Mode::kByteBudget) {
        results[r] = absl::InvalidArgumentError("target_psnr and max_bytes are two rate controls: give one");
        continue;
      }
      if (policy.mode == SelectionPolicy::Mode::kByteBudget) {
        // A latent patch's cost depends on its content: select once its symbols are known.
        if (policy.max_bytes <= 0) {
          results[r] = absl::InvalidArgumentError("selection.max_bytes must be > 0");
          continue;
        }
        latent_budget = policy.max_bytes;
        policy = SelectionPolicy{SelectionPolicy::Mode::kTopK, 0.5, 1.0};
      }
    } else {
      policy.bytes_per_patch = BytesPerKeptPatch(options.payload, options.precision, d, o.patch_size);
      policy.overhead_bytes = grid->count() * BytesPerTile(options.payload, options.precision, d, l);
      if (absl::Status s = CheckPacketBound(req, policy, grid->count() * l); !s.ok()) {
        results[r] = s;
        continue;
      }
    }
    absl::StatusOr<PatchSelector> selector = PatchSelector::Create(policy);
    if (!selector.ok()) {
      results[r] = selector.status();
      continue;
    }
    if (options.source != KeepSource::kMasker && policy.mode != SelectionPolicy::Mode::kTopK) {
      results[r] = absl::InvalidArgumentError("random and uniform-grid baselines need a keep_ratio selection");
      continue;
    }
    Plan plan{r, *grid, policy, *std::move(selector), SplitTiles(req.image.to(at::kFloat), *grid), tiles, -1, -1,
              latent_level, latent_budget};
    // Keeping every patch needs no scores: skip the masker's forward (the latent default).
    plan.keeps_all = (policy.mode == SelectionPolicy::Mode::kTopK && policy.keep_ratio >= 1.0 && latent_budget == 0) ||
                     (CarriesLatents(options.payload) && !latent_->selects_positions());
    if (options.source == KeepSource::kMasker && !plan.keeps_all) {
      masker_in.push_back(plan.tiles);
      tiles += grid->count();
    }
    if (CarriesFeatures(options.payload)) {
      plan.first_feature = feature_tiles;
      encoder_in.push_back(plan.tiles);
      feature_tiles += grid->count();
    }
    if (CarriesLatents(options.payload)) {
      plan.first_latent = latent_tiles;
      latent_in.push_back(plan.tiles);
      latent_tiles += grid->count();
    }
    plans.push_back(std::move(plan));
  }
  if (plans.empty()) return results;
  // Between stages and model slices: stop once no request of the batch is still wanted.
  auto check = [&](const char* when) {
    for (const Plan& plan : plans)
      if (Gone(requests[plan.request], when).ok()) return;
    throw BatchAbandoned{when};
  };
  try {
    EncodeStages(requests, batch, check, results);
  } catch (const BatchAbandoned& a) {
    for (const Plan& plan : plans) results[plan.request] = Gone(requests[plan.request], a.when);
  }
  return results;
}

void PacketEncoder::EncodeStages(const std::vector<EncodeRequest>& requests, BatchPlan& batch,
                                 const std::function<void(const char*)>& check,
                                 std::vector<absl::StatusOr<EncodedImage>>& results) const {
  const MaskedAutoencoderOptions& o = mae_->options();
  const int64_t l = o.num_patches(), d = o.decoder_embed_dim;
  const std::vector<Plan>& plans = batch.plans;
  torch::NoGradGuard no_grad;
  auto t0 = std::chrono::steady_clock::now();
  at::Tensor probs;  // (tiles, L)
  if (!batch.masker_in.empty()) {
    ComputePrecisionScope precision(compute_);
    probs = ForwardInChunks(kForwardChunkRows, [&](const at::Tensor& x) {
      check("during the masker");
      return at::sigmoid(masker_->forward(x).to(at::kFloat));
    }, at::cat(batch.masker_in));
  }
  std::vector<EncodedImage> out(plans.size());
  for (size_t i = 0; i < plans.size(); ++i) {
    const Plan& plan = plans[i];
    const EncodeOptions& options = requests[plan.request].options;
    const int64_t n = plan.grid.count();
    out[i].grid = plan.grid;
    if (CarriesLatents(options.payload) && !latent_->selects_positions()) {
      out[i].keep = ImageCells(plan.grid, latent_->patch_size());
    } else if (options.source == KeepSource::kMasker && plan.keeps_all) {
      out[i].keep = at::ones({n, l}, at::kBool);
    } else if (options.source == KeepSource::kMasker) {
      out[i].keep = plan.selector.Select(probs.narrow(0, plan.first_tile, n).reshape({1, -1})).reshape({n, l});
    } else {
      const int64_t k = std::max<int64_t>(1, std::llround(plan.policy.keep_ratio * static_cast<double>(l)));
      at::Generator gen = at::detail::createCPUGenerator(options.seed);
      std::vector<at::Tensor> keeps;
      for (int64_t t = 0; t < n; ++t)
        keeps.push_back(options.source == KeepSource::kRandom ? RandomKeep(l, k, gen) : UniformGridKeep(o.grid_size(), k));
      out[i].keep = at::stack(keeps);
    }
    out[i].kept = out[i].keep.sum().item<int64_t>();
  }
  const double masker_ms = MsSince(t0);

  t0 = std::chrono::steady_clock::now();
  at::Tensor tokens;  // (feature_tiles, 1+L, D) decoder-space tokens, cls first
  check("after the masker");
  if (!batch.encoder_in.empty()) {
    ComputePrecisionScope precision(compute_);
    tokens = ForwardInChunks(kForwardChunkRows, [&](const at::Tensor& x) {
      check("during the encoder");
      return mae_->EmbedForDecoder(mae_->EncodeFull(x)).to(at::kFloat);
    }, at::cat(batch.encoder_in));
  }
  at::Tensor latents;  // (latent_tiles, L, C)
  if (!batch.latent_in.empty()) {
    // The most image any latent tile holds: a one-tile photo smaller than the tile is mostly
    // edge fill, which the conv analysis need not run over.
    int64_t rows = 0, cols = 0;
    for (const Plan& plan : plans) {
      if (plan.first_latent < 0) continue;
      rows = std::max(rows, plan.grid.rows > 1 ? plan.grid.tile : plan.grid.height);
      cols = std::max(cols, plan.grid.cols > 1 ? plan.grid.tile : plan.grid.width);
    }
    latents = latent_->Analyze(at::cat(batch.latent_in), rows, cols);
  }
  for (size_t i = 0; i < plans.size(); ++i) {
    const Plan& plan = plans[i];
    const EncodeRequest& req = requests[plan.request];
    at::Tensor pixels;  // (N, L, p·p·3) uint8
    if (CarriesPixels(req.options.payload)) pixels = QuantizedPatches(plan.tiles, o.patch_size);
    ImagePacket& p = out[i].packet;
    p.id = req.id;
    p.model_fingerprint = fingerprint_;
    p.height = plan.grid.height;
    p.width = plan.grid.width;
    p.tile_size = o.img_size;
    p.patch_size = o.patch_size;
    p.feature_dim = d;
    p.payload = req.options.payload;
    p.precision = req.options.precision;
    p.tiles.resize(static_cast<size_t>(plan.grid.count()));
    if (plan.first_latent >= 0) {
      const int64_t n = plan.grid.count();
      at::Tensor probs_here = probs.defined() ? probs.narrow(0, plan.first_tile, n) : at::Tensor();
      const at::Tensor mine = latents.narrow(0, plan.first_latent, n);
      int64_t level = plan.latent_level;
      if (req.options.target_psnr > 0)
        level = ChooseLevelForPsnr(*latent_, mine, out[i].keep, req.image.to(at::kFloat), plan.grid,
                                   req.options.target_psnr).level;
      LatentTiles coded = !latent_->selects_positions() && plan.latent_budget > 0
                              ? EncodeWithinBytes(*latent_, mine, out[i].keep, plan.latent_budget, &level)
                              : EncodeSelectedLatents(*latent_, mine, out[i].keep, probs_here, level, plan.latent_budget);
      p.model_fingerprint = latent_->fingerprint();
      p.tile_size = latent_->tile_size();
      p.patch_size = latent_->patch_size();
      p.feature_dim = latent_->channels();
      p.latent_level = level;
      out[i].keep = coded.keep;
      out[i].kept = coded.keep.sum().item<int64_t>();
      out[i].estimated_bits = coded.estimated_bits;
      if (req.options.position_bits)
        out[i].position_bits =
            latent_->PositionBits(mine, level).to(at::kFloat) * coded.keep.to(at::kFloat);
      p.latent = std::move(coded.stream);
      p.tiles.clear();
      continue;
    }
    for (int64_t t = 0; t < plan.grid.count(); ++t) {
      TilePayload& tile = p.tiles[static_cast<size_t>(t)];
      at::Tensor keep = out[i].keep[t];
      at::Tensor ids = KeptIndices(keep);
      tile.keep_bitmap = PackBitmap(keep);
      if (plan.first_feature >= 0) {
        at::Tensor all = tokens[plan.first_feature + t];
        at::Tensor kept_tokens = at::cat({all.narrow(0, 0, 1), all.narrow(0, 1, l).index_select(0, ids)});
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
  const double encoder_ms = MsSince(t0);
  for (size_t i = 0; i < plans.size(); ++i) {
    out[i].masker_ms = masker_ms;
    out[i].encoder_ms = encoder_ms;
    out[i].batch_images = static_cast<int>(plans.size());
    results[plans[i].request] = std::move(out[i]);
  }
}

}  // namespace mt
