#include "core/entropy/latent_stream.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/entropy/keep_mask_coder.h"
#include "tests/core/entropy/random_tables.h"

namespace mt {
namespace {

// Random tables for `channels` channels: factorized, or (context) 1–4 buckets with random
// predict flags.
LatentTables RandomTables(std::mt19937& rng, int channels, bool context = false) {
  LatentTables tables;
  tables.buckets = context ? 1 + static_cast<int>(rng() % 4) : 0;
  for (int c = 0; c < channels; ++c) {
    tables.predict.push_back(context ? static_cast<uint8_t>(rng() % 2) : 0);
    std::vector<FrequencyTable>& channel = tables.tables.emplace_back();
    for (int b = 0; b < (context ? tables.buckets + 1 : 1); ++b) {
      const int n = 2 + static_cast<int>(rng() % 40);
      channel.push_back(test::RandomTable(rng, n, -static_cast<int32_t>(rng() % static_cast<uint32_t>(n))));
    }
  }
  return tables;
}

// A tile keeping each patch independently with probability `keep_percent` %, whose
// symbols follow the tables (escapes included).
LatentTile RandomTile(std::mt19937& rng, const LatentTables& tables, int grid, uint32_t keep_percent) {
  LatentTile tile;
  tile.keep.assign(static_cast<size_t>(grid * grid), 0);
  for (uint8_t& k : tile.keep) k = rng() % 100 < keep_percent ? 1 : 0;
  for (uint8_t k : tile.keep)
    if (k)
      for (const std::vector<FrequencyTable>& t : tables.tables) tile.symbols.push_back(test::RandomValue(rng, t[0]));
  return tile;
}

void ExpectSameTile(const LatentTile& a, const LatentTile& b) {
  EXPECT_EQ(a.keep, b.keep);
  EXPECT_EQ(a.symbols, b.symbols);
}

TEST(LatentStreamTest, RandomTilesRoundTrip) {
  for (uint32_t seed = 0; seed < 300; ++seed) {
    std::mt19937 rng(seed);
    const int grid = seed % 5 == 0 ? 1 + static_cast<int>(rng() % 16) : 8;
    const LatentTables tables = RandomTables(rng, 1 + static_cast<int>(rng() % 8), /*context=*/seed % 2 == 1);
    const LatentTile tile = RandomTile(rng, tables, grid, rng() % 101);
    absl::StatusOr<std::string> bytes = EncodeLatentTile(tables, grid, tile);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    absl::StatusOr<LatentTile> back = DecodeLatentTile(tables, grid, *bytes);
    ASSERT_TRUE(back.ok()) << "seed " << seed << ": " << back.status();
    ExpectSameTile(*back, tile);
  }
}

TEST(LatentStreamTest, EmptyTileRoundTripsInAFewBytes) {
  std::mt19937 rng(1);
  const LatentTables tables = RandomTables(rng, 16);
  LatentTile empty;
  empty.keep.assign(64, 0);
  absl::StatusOr<std::string> bytes = EncodeLatentTile(tables, 8, empty);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_LE(bytes->size(), kRansStateBytes + 2);
  absl::StatusOr<LatentTile> back = DecodeLatentTile(tables, 8, *bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameTile(*back, empty);
}

TEST(LatentStreamTest, EncodeRejectsMismatchedInputs) {
  std::mt19937 rng(2);
  const LatentTables tables = RandomTables(rng, 3);
  const LatentTile good = RandomTile(rng, tables, 8, 30);
  ASSERT_TRUE(EncodeLatentTile(tables, 8, good).ok());
  LatentTile short_keep = good;
  short_keep.keep.pop_back();
  LatentTile two = good;
  two.keep[0] = 2;
  LatentTile extra = good;
  extra.symbols.push_back(0);
  LatentTables bad_tables = tables;
  bad_tables.tables[1][0].cdf[1] = 0;  // a zero frequency
  const auto code = [](const absl::StatusOr<std::string>& s) { return s.status().code(); };
  EXPECT_EQ(code(EncodeLatentTile(tables, 8, short_keep)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(EncodeLatentTile(tables, 8, two)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(EncodeLatentTile(tables, 8, extra)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(EncodeLatentTile({}, 8, good)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(EncodeLatentTile(tables, 0, good)), absl::StatusCode::kInvalidArgument);
  absl::Status s = EncodeLatentTile(bad_tables, 8, good).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tables[1]"), std::string::npos) << s;
  EXPECT_TRUE(std::isnan(EstimateLatentTileBits(tables, 8, extra)));
  EXPECT_EQ(DecodeLatentTile(bad_tables, 8, *EncodeLatentTile(tables, 8, good)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LatentStreamTest, EveryTruncationAndAnyTrailingByteFails) {
  for (uint32_t seed = 0; seed < 10; ++seed) {
    std::mt19937 rng(100 + seed);
    const LatentTables tables = RandomTables(rng, 1 + static_cast<int>(seed % 6), /*context=*/seed % 2 == 1);
    const LatentTile tile = RandomTile(rng, tables, 8, 10 + 10 * seed);
    const std::string bytes = *EncodeLatentTile(tables, 8, tile);
    for (size_t n = 0; n < bytes.size(); ++n)
      ASSERT_FALSE(DecodeLatentTile(tables, 8, std::string_view(bytes).substr(0, n)).ok()) << seed << " " << n;
    for (int extra = 1; extra <= 8; ++extra) {
      const std::string longer = bytes + std::string(static_cast<size_t>(extra), static_cast<char>(rng()));
      EXPECT_EQ(DecodeLatentTile(tables, 8, longer).status().code(), absl::StatusCode::kDataLoss) << extra;
    }
  }
}

// Flips one byte of each position of streams coded with `tables`; returns the fraction the decoder
// rejects, checking that the undetected ones still decode to a well-formed tile.
double DetectedFlipFraction(uint32_t seed, int tiles, const LatentTables& tables) {
  std::mt19937 rng(seed);
  int flips = 0, detected = 0;
  for (int t = 0; t < tiles; ++t) {
    const LatentTile tile = RandomTile(rng, tables, 8, 25);
    const std::string bytes = *EncodeLatentTile(tables, 8, tile);
    for (size_t i = 0; i < bytes.size(); ++i) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ static_cast<char>(1 + rng() % 255));
      absl::StatusOr<LatentTile> got = DecodeLatentTile(tables, 8, bad);
      ++flips;
      if (!got.ok()) {
        ++detected;
        continue;
      }
      size_t kept = 0;
      for (uint8_t k : got->keep) kept += k;
      EXPECT_EQ(got->keep.size(), 64u);
      EXPECT_EQ(got->symbols.size(), kept * tables.channels());
    }
  }
  return static_cast<double>(detected) / flips;
}

TEST(LatentStreamTest, MostFlippedBytesAreDetected) {
  // A flip changes the state, so the decoder reads other symbols and must then land exactly on the
  // initial state with every byte consumed: rare. The exception is a flip confined to bits coded
  // without redundancy — bypass bits of an escape, a frequency-1 symbol, or one of a run of equal
  // frequencies — which just turns one value into another; with Laplacian tables (the entropy
  // model's shape) that is under 1 % of flips.
  std::vector<FrequencyTable> laplace;
  for (double scale : {0.5, 1.0, 2.0, 6.0}) {
    std::vector<double> pmf(33);
    for (size_t i = 0; i < pmf.size(); ++i) pmf[i] = std::exp(-std::abs(static_cast<double>(i) - 15) / scale);
    pmf.back() = 1e-3;
    laplace.push_back(*QuantizePmf(pmf, -15));
  }
  EXPECT_GE(DetectedFlipFraction(200, 50, FactorizedTables(laplace)), 0.99);
  // Adversarial tables (escape-dominated, many frequency-1 entries) still catch most flips.
  std::mt19937 rng(201);
  for (int rep = 0; rep < 5; ++rep) EXPECT_GE(DetectedFlipFraction(202 + rep, 10, RandomTables(rng, 4)), 0.8) << rep;
}

TEST(LatentStreamTest, RealBytesTrackTheEstimate) {
  for (uint32_t seed = 0; seed < 10; ++seed) {
    std::mt19937 rng(300 + seed);
    const LatentTables tables = RandomTables(rng, 64, /*context=*/seed % 2 == 1);
    const LatentTile tile = RandomTile(rng, tables, 16, 40);  // ~100 patches × 64 channels
    const double bits = EstimateLatentTileBits(tables, 16, tile);
    double patch_bits = KeepMaskBits(16, tile.keep);
    for (double b : LatentPatchBits(tables, 16, tile)) patch_bits += b;
    EXPECT_NEAR(patch_bits, bits, 1e-6 * bits);
    const std::string bytes = *EncodeLatentTile(tables, 16, tile);
    ASSERT_GT(bits, 8000.0);
    EXPECT_GE(static_cast<double>(bytes.size()), bits / 8 - 1) << "seed " << seed;
    EXPECT_LE(static_cast<double>(bytes.size()), bits / 8 + 4 + 2) << "seed " << seed;
  }
}

}  // namespace
}  // namespace mt
