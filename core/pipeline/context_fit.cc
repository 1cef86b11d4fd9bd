#include "core/pipeline/context_fit.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "core/codec/tiling.h"
#include "core/entropy/context_table_builder.h"

namespace mt {
namespace {

// Adds tiles of symbols q (N, L, C) int32 to `builder`: each with every patch kept, and with a
// random half kept.
absl::Status AddTiles(const at::Tensor& q, int grid, std::mt19937_64& rng, ContextTableBuilder* builder) {
  const int64_t n = q.size(0), l = q.size(1), c = q.size(2);
  for (int64_t t = 0; t < n; ++t) {
    const int32_t* v = q[t].data_ptr<int32_t>();
    LatentTile all;
    all.keep.assign(static_cast<size_t>(l), 1);
    all.symbols.assign(v, v + l * c);
    if (absl::Status s = builder->Add(grid, all); !s.ok()) return s;
    LatentTile half;
    half.keep.assign(static_cast<size_t>(l), 0);
    for (int64_t i = 0; i < l; ++i) {
      if (rng() % 2 == 0) continue;
      half.keep[static_cast<size_t>(i)] = 1;
      half.symbols.insert(half.symbols.end(), v + i * c, v + (i + 1) * c);
    }
    if (absl::Status s = builder->Add(grid, half); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// The fit for any codec: `analyze` maps tiles (n, 3, T, T) to latents (n, L, C) and `quantize`
// latents at a level to int32 symbols; the fitted tables are returned, one per level.
template <typename Analyze, typename Quantize>
absl::StatusOr<std::vector<LatentTables>> Fit(int64_t levels, int64_t tile, int grid, int64_t channels,
                                              const std::vector<at::Tensor>& images, const ContextFitOptions& options,
                                              const std::function<void(size_t, size_t)>& progress, Analyze analyze,
                                              Quantize quantize) {
  if (levels == 0) return absl::FailedPreconditionError("the codec has no step levels: build its tables first");
  if (images.empty()) return absl::FailedPreconditionError("no images to fit the context tables to");
  if (options.buckets < 1 || options.buckets > kMaxContextBuckets)
    return absl::InvalidArgumentError(absl::StrCat("context buckets must be in [1, ", kMaxContextBuckets, "]"));
  std::vector<ContextTableBuilder> builders;
  for (int64_t s = 0; s < levels; ++s) builders.emplace_back(static_cast<int>(channels), options.buckets);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < images.size(); ++i) {
    absl::StatusOr<TileGrid> plan = PlanTiles(images[i].size(1), images[i].size(2), tile);
    if (!plan.ok()) return plan.status();
    const at::Tensor tiles = SplitTiles(images[i], *plan);
    for (int64_t start = 0; start < tiles.size(0); start += options.batch_tiles) {
      const at::Tensor y = analyze(tiles.narrow(0, start, std::min(options.batch_tiles, tiles.size(0) - start)));
      for (int64_t s = 0; s < levels; ++s) {
        const at::Tensor q = quantize(y, s).contiguous();
        std::mt19937_64 rng(options.seed + static_cast<uint64_t>(i * 1000003 + start) * 131 + static_cast<uint64_t>(s));
        if (absl::Status st = AddTiles(q, grid, rng, &builders[static_cast<size_t>(s)]); !st.ok()) return st;
      }
    }
    if (progress) progress(i + 1, images.size());
  }
  std::vector<LatentTables> per_level;
  for (const ContextTableBuilder& b : builders) {
    absl::StatusOr<LatentTables> t = b.Build();
    if (!t.ok()) return t.status();
    per_level.push_back(*std::move(t));
  }
  return per_level;
}

}  // namespace

absl::Status FitContextTables(LatentCodec& codec, const std::vector<at::Tensor>& images, const ContextFitOptions& options,
                              const std::function<void(size_t, size_t)>& progress) {
  const LatentCodecOptions& o = codec->options();
  codec->eval();
  absl::StatusOr<std::vector<LatentTables>> tables = Fit(
      codec->num_levels(), o.mae.img_size, static_cast<int>(o.mae.grid_size()), o.latent_channels, images, options,
      progress, [&](const at::Tensor& x) { return codec->EncodeImages(x); },
      [&](const at::Tensor& y, int64_t s) { return QuantizeLatents(y, codec->step(s)); });
  if (!tables.ok()) return tables.status();
  codec->SetContextTables(*tables);
  return absl::OkStatus();
}

absl::Status FitContextTables(ConvCodec& codec, const std::vector<at::Tensor>& images, const ContextFitOptions& options,
                              const std::function<void(size_t, size_t)>& progress) {
  const ConvCodecOptions o = codec->options();
  codec->eval();
  const at::Tensor steps = codec->Steps().detach().to(at::kFloat);  // (S, C)
  ContextFitOptions conv = options;
  conv.batch_tiles = std::min<int64_t>(options.batch_tiles, 4);  // 512² tiles: bound the activations
  absl::StatusOr<std::vector<LatentTables>> tables = Fit(
      o.levels, o.tile_size, static_cast<int>(o.tile_size / kConvCodecDownsample), o.latent_channels, images, conv,
      progress,
      [&](const at::Tensor& x) { return codec->AnalyzePositions(x); },
      [&](const at::Tensor& y, int64_t s) { return QuantizeLatents(y, steps[s]); });
  if (!tables.ok()) return tables.status();
  codec->SetContextTables(*tables);
  return absl::OkStatus();
}

}  // namespace mt
