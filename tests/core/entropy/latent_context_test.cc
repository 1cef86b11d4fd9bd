#include "core/entropy/latent_context.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "core/entropy/context_table_builder.h"
#include "core/entropy/latent_stream.h"

namespace mt {
namespace {

// Geometry-only tables (ContextOf reads buckets, predict and the channel count).
LatentTables Shape(int buckets, int channels, uint8_t predict) {
  LatentTables t;
  t.buckets = buckets;
  t.predict.assign(static_cast<size_t>(channels), predict);
  t.tables.resize(static_cast<size_t>(channels));
  return t;
}

TEST(LatentContextTest, BucketsAndMedianPredictionByHand) {
  // 3×3 tile, one channel; rows: [5 -3 2] [4 7 .] [. . .] (only the first five cells matter).
  const LatentTables t = Shape(/*buckets=*/3, 1, /*predict=*/1);
  const std::vector<uint8_t> keep(9, 1);
  const std::vector<int32_t> symbols = {5, -3, 2, 4, 7, 0, 0, 0, 0};
  const std::vector<int32_t> slot = KeptSlots(keep);
  auto ctx = [&](int cell) { return ContextOf(t, 3, slot, symbols.data(), cell, 0); };
  EXPECT_EQ(ctx(0).bucket, 3);  // no neighbour: the extra bucket
  EXPECT_EQ(ctx(0).prediction, 0);
  EXPECT_EQ(ctx(1).bucket, 2);  // L = 5: floor(log2(6)) = 2
  EXPECT_EQ(ctx(1).prediction, 5);
  EXPECT_EQ(ctx(2).bucket, 2);  // L = -3: floor(log2(4)) = 2
  EXPECT_EQ(ctx(2).prediction, -3);
  EXPECT_EQ(ctx(3).bucket, 2);  // T = 5 (no left neighbour in column 0)
  EXPECT_EQ(ctx(3).prediction, 5);
  // L = 4, T = -3, TL = 5: floor(log2(1 + 4 + 3)) = 3, capped at buckets - 1 = 2; median(4, -3, -4) = -3.
  EXPECT_EQ(ctx(4).bucket, 2);
  EXPECT_EQ(ctx(4).prediction, -3);
  const LatentTables wide = Shape(/*buckets=*/5, 1, 1);
  EXPECT_EQ(ContextOf(wide, 3, slot, symbols.data(), 4, 0).bucket, 3);
  EXPECT_EQ(ContextOf(Shape(3, 1, /*predict=*/0), 3, slot, symbols.data(), 4, 0).prediction, 0);
}

TEST(LatentContextTest, NeighboursThatWereNotSentAreIgnored) {
  const LatentTables t = Shape(3, 1, 1);
  const std::vector<uint8_t> keep = {1, 0, 1, 1, 1, 0, 0, 0, 0};  // cell 1 not sent
  const std::vector<int32_t> symbols = {5, 2, 4, 7};                // cells 0, 2, 3, 4
  const std::vector<int32_t> slot = KeptSlots(keep);
  const SymbolContext c2 = ContextOf(t, 3, slot, symbols.data(), 2, 0);  // no L, no T
  EXPECT_EQ(c2.bucket, 3);
  EXPECT_EQ(c2.prediction, 0);
  const SymbolContext c4 = ContextOf(t, 3, slot, symbols.data(), 4, 0);  // L = 4 only (T missing)
  EXPECT_EQ(c4.bucket, 2);                                                // floor(log2(5))
  EXPECT_EQ(c4.prediction, 4);
  const std::vector<int32_t> zero = {0, 0, 0, 0};
  EXPECT_EQ(ContextOf(t, 3, slot, zero.data(), 4, 0).bucket, 0);
}

TEST(LatentContextTest, ResidualsWrapAroundWithoutOverflow) {
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max(), kMin = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(ToResidual(kMax, -1), kMin);
  EXPECT_EQ(FromResidual(kMin, -1), kMax);
  EXPECT_EQ(ToResidual(kMin, kMax), 1);
  EXPECT_EQ(FromResidual(1, kMax), kMin);
  EXPECT_EQ(ToResidual(7, 3), 4);
  // Extreme neighbours: the median stays between L and T.
  const LatentTables t = Shape(4, 1, 1);
  const std::vector<uint8_t> keep(4, 1);
  const std::vector<int32_t> symbols = {kMin, kMax, kMax, 0};
  const SymbolContext c = ContextOf(t, 2, KeptSlots(keep), symbols.data(), 3, 0);
  EXPECT_EQ(c.prediction, kMax);  // median(kMax, kMax, kMax + kMax - kMin) = kMax
  EXPECT_EQ(c.bucket, 3);
}

TEST(LatentContextTest, ValidationNamesTheProblem) {
  LatentTables t = FactorizedTables({*QuantizePmf({1.0, 1.0}, 0)});
  EXPECT_TRUE(ValidateLatentTables(t).ok());
  t.buckets = 2;  // now 3 tables per channel are needed
  EXPECT_EQ(ValidateLatentTables(t).code(), absl::StatusCode::kInvalidArgument);
  t.buckets = 0;
  t.predict[0] = 2;
  EXPECT_EQ(ValidateLatentTables(t).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLatentTables(LatentTables{}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ContextTableBuilderTest, HistogramTableByHand) {
  // {0: 6, 1: 2} → pmf (6.5, 2.5, escape 0.5) / 9.5 · 65536 = 44840.42, 17246.32, 3449.26:
  // floors sum to 65535, the spare unit goes to the largest remainder (index 0).
  absl::StatusOr<FrequencyTable> t = TableFromHistogram({{0, 6}, {1, 2}});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->offset, 0);
  EXPECT_EQ(t->cdf, (std::vector<uint32_t>{0, 44841, 62087, 65536}));
  // The densest window: -5000 is 5001 values away from 0, more than a table may span.
  absl::StatusOr<FrequencyTable> w = TableFromHistogram({{-5000, 1}, {0, 100}, {10, 50}});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->offset, 0);
  EXPECT_EQ(w->cdf.size(), 13u);  // values 0..10, the escape, and cdf[0]
  EXPECT_EQ(TableFromHistogram({{3, -1}}).status().code(), absl::StatusCode::kInvalidArgument);
}

// Tiles (grid 8, 2 channels): channel 0 a smooth ramp across the tile (neighbours predict it),
// channel 1 independent noise in [-2, 2] (they do not).
std::vector<LatentTile> SmoothAndNoisyTiles(std::mt19937& rng, int count) {
  std::vector<LatentTile> tiles;
  for (int n = 0; n < count; ++n) {
    LatentTile tile;
    tile.keep.assign(64, 1);
    const double a = std::uniform_real_distribution<double>(-3, 3)(rng), b = std::uniform_real_distribution<double>(-3, 3)(rng);
    const double base = std::uniform_real_distribution<double>(-20, 20)(rng);
    for (int i = 0; i < 64; ++i) {
      tile.symbols.push_back(static_cast<int32_t>(std::lround(base + a * (i / 8) + b * (i % 8))));
      tile.symbols.push_back(static_cast<int32_t>(rng() % 5) - 2);
    }
    tiles.push_back(tile);
  }
  return tiles;
}

TEST(ContextTableBuilderTest, PredictsSmoothChannelsAndCodesThemInFewerBits) {
  std::mt19937 rng(7);
  const std::vector<LatentTile> train = SmoothAndNoisyTiles(rng, 400), test = SmoothAndNoisyTiles(rng, 50);
  ContextTableBuilder context(2, 4);
  EXPECT_EQ(context.Build().status().code(), absl::StatusCode::kFailedPrecondition);
  std::map<int32_t, int64_t> histograms[2];  // the factorized model: one histogram per channel
  for (const LatentTile& tile : train) {
    ASSERT_TRUE(context.Add(8, tile).ok());
    for (size_t i = 0; i < tile.symbols.size(); ++i) ++histograms[i % 2][tile.symbols[i]];
  }
  EXPECT_EQ(context.symbols(), 400 * 64 * 2);
  absl::StatusOr<LatentTables> with = context.Build();
  absl::StatusOr<LatentTables> without = FactorizedTables({*TableFromHistogram(histograms[0]), *TableFromHistogram(histograms[1])});
  ASSERT_TRUE(with.ok());
  ASSERT_TRUE(ValidateLatentTables(*with).ok());
  EXPECT_EQ(with->predict, (std::vector<uint8_t>{1, 0}));
  double bits_with = 0, bits_without = 0;
  for (const LatentTile& tile : test) {
    bits_with += EstimateLatentTileBits(*with, 8, tile);
    bits_without += EstimateLatentTileBits(*without, 8, tile);
    absl::StatusOr<std::string> bytes = EncodeLatentTile(*with, 8, tile);
    ASSERT_TRUE(bytes.ok());
    absl::StatusOr<LatentTile> back = DecodeLatentTile(*with, 8, *bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->symbols, tile.symbols);
  }
  // The ramp's residuals are 0/±1 instead of spread over ±40: well under half the bits.
  EXPECT_LT(bits_with, 0.6 * bits_without) << bits_with << " vs " << bits_without;
  LatentTile bad = train[0];
  bad.symbols.pop_back();
  EXPECT_EQ(context.Add(8, bad).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mt
