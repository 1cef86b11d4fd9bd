#include "core/entropy/keep_mask_coder.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace mt {
namespace {

std::string Encode(int grid, const std::vector<uint8_t>& keep) {
  RansEncoder e;
  EncodeKeepMask(e, grid, keep);
  return e.Finish();
}

absl::StatusOr<std::vector<uint8_t>> Decode(int grid, std::string_view bytes) {
  absl::StatusOr<RansDecoder> d = RansDecoder::Open(bytes);
  if (!d.ok()) return d.status();
  absl::StatusOr<std::vector<uint8_t>> keep = DecodeKeepMask(*d, grid);
  if (!keep.ok()) return keep.status();
  if (absl::Status s = d->Finish(); !s.ok()) return s;
  return keep;
}

// A grid×grid mask with a filled rectangle [r0, r1) × [c0, c1).
std::vector<uint8_t> Blob(int grid, int r0, int r1, int c0, int c1) {
  std::vector<uint8_t> keep(static_cast<size_t>(grid * grid), 0);
  for (int r = r0; r < r1; ++r)
    for (int c = c0; c < c1; ++c) keep[static_cast<size_t>(r * grid + c)] = 1;
  return keep;
}

TEST(KeepMaskCoderTest, RandomMasksRoundTrip) {
  for (uint32_t seed = 0; seed < 400; ++seed) {
    std::mt19937 rng(seed);
    const int grid = 1 + static_cast<int>(rng() % 16);
    const uint32_t density = rng() % 101;  // percent kept, from none to all
    std::vector<uint8_t> keep(static_cast<size_t>(grid * grid));
    for (uint8_t& k : keep) k = rng() % 100 < density ? 1 : 0;
    absl::StatusOr<std::vector<uint8_t>> back = Decode(grid, Encode(grid, keep));
    ASSERT_TRUE(back.ok()) << "seed " << seed << ": " << back.status();
    EXPECT_EQ(*back, keep) << "seed " << seed;
  }
}

TEST(KeepMaskCoderTest, NonzeroMeansKept) {
  std::vector<uint8_t> keep = {0, 7, 255, 0};
  absl::StatusOr<std::vector<uint8_t>> back = Decode(2, Encode(2, keep));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (std::vector<uint8_t>{0, 1, 1, 0}));
}

TEST(KeepMaskCoderTest, StructuredMasksCostFarLessThanOneBitPerPatch) {
  // 8×8 = 64 bits uncoded. All-zeros stays in context 0, whose probability of "kept" halves, then
  // falls fast: 5.6 bits. All-ones passes through five contexts (corner, top row, left and right
  // columns, interior), each learning from 1/2: 14.3 bits.
  EXPECT_LT(KeepMaskBits(8, Blob(8, 0, 0, 0, 0)), 8.0);
  EXPECT_LT(KeepMaskBits(8, Blob(8, 0, 8, 0, 8)), 16.0);
  const std::vector<uint8_t> blob = Blob(8, 2, 5, 3, 7);  // a 3×4 block of kept patches
  EXPECT_LT(KeepMaskBits(8, blob), 32.0);                  // 28.6 bits
  EXPECT_LE(Encode(8, Blob(8, 0, 0, 0, 0)).size(), kRansStateBytes + 1);
  EXPECT_LE(Encode(8, blob).size(), kRansStateBytes + 4);  // the raw bitmap alone is 8 bytes

  // Larger tiles: the same blob scaled up costs a small fraction of a bit per patch.
  EXPECT_LT(KeepMaskBits(32, Blob(32, 8, 20, 12, 28)), 0.15 * 32 * 32);
}

TEST(KeepMaskCoderTest, RandomMasksCostAboutTheirEntropyAndBitsMatchBytes) {
  std::mt19937 rng(3);
  std::vector<uint8_t> keep(64 * 64);
  for (uint8_t& k : keep) k = rng() % 2;  // incompressible: ~1 bit per cell
  const double bits = KeepMaskBits(64, keep);
  EXPECT_GT(bits, 0.98 * 4096);
  EXPECT_LT(bits, 1.10 * 4096);  // the adaptive model's price for fair coins
  const std::string bytes = Encode(64, keep);
  EXPECT_GE(static_cast<double>(bytes.size()), bits / 8);
  EXPECT_LE(static_cast<double>(bytes.size()), bits / 8 + 5);
}

TEST(KeepMaskCoderTest, RejectsBadGridAndShortStreams) {
  const std::string bytes = Encode(8, Blob(8, 2, 5, 3, 7));
  for (int grid : {0, -1, kMaxKeepGrid + 1}) {
    absl::StatusOr<RansDecoder> d = RansDecoder::Open(bytes);
    EXPECT_EQ(DecodeKeepMask(*d, grid).status().code(), absl::StatusCode::kInvalidArgument) << grid;
  }
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(Decode(8, std::string_view(bytes).substr(0, n)).ok()) << n;
  EXPECT_FALSE(Decode(8, bytes + "x").ok());
}

}  // namespace
}  // namespace mt
