// The hyperprior stream: sides first, then residuals, round trip on seeded random tiles, and every
// refusal (malformed input at the encoder, truncated or extended streams and a checksum the
// receiver does not reproduce at the decoder).
#include "core/entropy/hyper_stream.h"

#include <gtest/gtest.h>

#include <random>

#include "core/entropy/gaussian_tables.h"

namespace mt {
namespace {

constexpr int kGrid = 8, kZGrid = 2, kZ = 3, kC = 4;

HyperTables Tables() {
  HyperTables t;
  for (double s : {0.5, 2.0, 7.0}) t.side.push_back(*GaussianTable(s));
  for (double s : GeometricScales(0.11, 64.0, 12)) t.scales.push_back(*GaussianTable(s));
  return t;
}

struct Image {
  std::vector<HyperTileSide> sides;
  std::vector<HyperTileResiduals> residuals;
};

// `tiles` tiles: keep a random subset (tile 0 keeps nothing in its last side cell's block), z set
// only in coded cells, residuals mostly small with a few far outside the tables (escapes).
Image RandomImage(std::mt19937& rng, int tiles) {
  Image image;
  std::uniform_int_distribution<int> small(-6, 6), index(0, 11);
  for (int t = 0; t < tiles; ++t) {
    HyperTileSide side;
    for (int i = 0; i < kGrid * kGrid; ++i) {
      const bool last_block = i / kGrid >= 4 && i % kGrid >= 4;
      side.keep.push_back(t == 0 && last_block ? 0 : static_cast<uint8_t>(rng() % 3 != 0));
    }
    const std::vector<uint8_t> coded = SideCellsCoded(kGrid, kZGrid, side.keep);
    for (int cell = 0; cell < kZGrid * kZGrid; ++cell)
      for (int c = 0; c < kZ; ++c) side.z.push_back(coded[static_cast<size_t>(cell)] ? small(rng) : 0);
    HyperTileResiduals r;
    for (uint8_t k : side.keep)
      for (int c = 0; k && c < kC; ++c) {
        r.residual.push_back(rng() % 50 == 0 ? 5000 : small(rng));
        r.scale_index.push_back(index(rng));
      }
    image.sides.push_back(side);
    image.residuals.push_back(r);
  }
  return image;
}

TEST(HyperStreamTest, RoundTripsSidesThenResidualsAndChecksTheChecksum) {
  const HyperTables tables = Tables();
  std::mt19937 rng(5);
  const Image image = RandomImage(rng, 3);
  EXPECT_EQ(SideCellsCoded(kGrid, kZGrid, image.sides[0].keep)[3], 0);
  absl::StatusOr<std::string> bytes = EncodeHyperStream(tables, kGrid, kZGrid, image.sides, image.residuals, 1234u);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<HyperStreamDecoder> d = HyperStreamDecoder::Open(tables, kGrid, kZGrid, *bytes);
  ASSERT_TRUE(d.ok()) << d.status();
  absl::StatusOr<std::vector<HyperTileSide>> sides = d->DecodeSides(3);
  ASSERT_TRUE(sides.ok()) << sides.status();
  for (size_t t = 0; t < 3; ++t) {
    EXPECT_EQ((*sides)[t].keep, image.sides[t].keep);
    EXPECT_EQ((*sides)[t].z, image.sides[t].z);
    absl::StatusOr<std::vector<int32_t>> r = d->DecodeResiduals(image.residuals[t].scale_index);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, image.residuals[t].residual);
  }
  EXPECT_TRUE(d->Finish(1234u).ok());
  const absl::Status mismatch = d->Finish(1235u);
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(mismatch.message().find("checksum"), std::string::npos) << mismatch;
}

TEST(HyperStreamTest, TruncatedOrExtendedStreamsAreDataLoss) {
  const HyperTables tables = Tables();
  std::mt19937 rng(6);
  const Image image = RandomImage(rng, 2);
  const std::string bytes = *EncodeHyperStream(tables, kGrid, kZGrid, image.sides, image.residuals, 7u);
  auto decode = [&](std::string_view b) -> absl::Status {
    absl::StatusOr<HyperStreamDecoder> d = HyperStreamDecoder::Open(tables, kGrid, kZGrid, b);
    if (!d.ok()) return d.status();
    absl::StatusOr<std::vector<HyperTileSide>> sides = d->DecodeSides(2);
    if (!sides.ok()) return sides.status();
    for (size_t t = 0; t < 2; ++t)
      if (absl::StatusOr<std::vector<int32_t>> r = d->DecodeResiduals(image.residuals[t].scale_index); !r.ok())
        return r.status();
    return d->Finish(7u);
  };
  ASSERT_TRUE(decode(bytes).ok());
  EXPECT_EQ(decode(bytes.substr(0, bytes.size() - 1)).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decode(bytes + "x").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decode(bytes.substr(0, 6)).code(), absl::StatusCode::kDataLoss);
}

TEST(HyperStreamTest, EncoderRefusesMalformedTiles) {
  const HyperTables tables = Tables();
  std::mt19937 rng(7);
  Image image = RandomImage(rng, 1);
  Image bad = image;
  bad.sides[0].z.back() = 1;  // the last cell of tile 0 covers no kept position
  EXPECT_EQ(EncodeHyperStream(tables, kGrid, kZGrid, bad.sides, bad.residuals, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = image;
  bad.residuals[0].scale_index[0] = 12;
  EXPECT_EQ(EncodeHyperStream(tables, kGrid, kZGrid, bad.sides, bad.residuals, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = image;
  bad.residuals[0].residual.pop_back();
  bad.residuals[0].scale_index.pop_back();
  EXPECT_EQ(EncodeHyperStream(tables, kGrid, kZGrid, bad.sides, bad.residuals, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeHyperStream(tables, kGrid, 3, image.sides, image.residuals, 0).status().code(),
            absl::StatusCode::kInvalidArgument);  // 8 is not a multiple of 3
}

}  // namespace
}  // namespace mt
