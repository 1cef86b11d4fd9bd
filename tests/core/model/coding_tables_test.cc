// The checkpoint layouts of coding tables: the ragged buffer (rows back to back) against the
// padded one of older checkpoints, by hand and through UnpackTables.
#include "core/model/coding_tables.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/entropy/frequency_table.h"

namespace mt {
namespace {

// Two levels × two channels of valid tables of different lengths (3, 4, 5 and 6 symbols).
std::vector<std::vector<FrequencyTable>> FourTables() {
  std::vector<std::vector<FrequencyTable>> per_level(2);
  int symbols = 3;
  for (auto& level : per_level)
    for (int c = 0; c < 2; ++c, ++symbols) {
      std::vector<double> pmf(static_cast<size_t>(symbols));
      for (int k = 0; k < symbols; ++k) pmf[static_cast<size_t>(k)] = 1.0 + k;
      absl::StatusOr<FrequencyTable> t = QuantizePmf(pmf, -c - 1);
      EXPECT_TRUE(t.ok()) << t.status();
      level.push_back(*t);
    }
  return per_level;
}

TEST(RaggedCdfTest, CutsEveryRowToItsSizeBackToBack) {
  // Rows (1, 2, 9), (3, 9, 9), (4, 5, 6) with sizes 2, 1, 3: the 9s are padding.
  const at::Tensor padded = at::tensor({1, 2, 9, 3, 9, 9, 4, 5, 6}, at::kInt).view({1, 3, 3});
  const at::Tensor sizes = at::tensor({2, 1, 3}, at::kInt).view({1, 3});
  const at::Tensor ragged = RaggedCdf(padded, sizes);
  EXPECT_TRUE(at::equal(ragged, at::tensor({1, 2, 3, 4, 5, 6}, at::kInt)));
  EXPECT_TRUE(at::equal(RaggedCdf(ragged, sizes), ragged));  // already ragged
}

TEST(UnpackTablesTest, BothLayoutsGiveTheTablesThatWerePacked) {
  const auto per_level = FourTables();
  const PackedFactorizedTables packed = PackFactorizedTables(per_level, 2);
  ASSERT_EQ(packed.cdf.size(2), 7);  // the longest: 6 symbols (escape included) + 1
  const at::Tensor ragged = RaggedCdf(packed.cdf, packed.sizes);
  EXPECT_EQ(ragged.numel(), 4 + 5 + 6 + 7);
  for (const at::Tensor& cdf : {packed.cdf, ragged}) {
    absl::StatusOr<std::vector<LatentTables>> t = UnpackTables(cdf, packed.sizes, packed.offsets, at::Tensor(), 0);
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_EQ(t->size(), 2u);
    for (size_t s = 0; s < 2; ++s)
      for (size_t c = 0; c < 2; ++c) {
        EXPECT_EQ((*t)[s].tables[c][0].cdf, per_level[s][c].cdf) << s << " " << c;
        EXPECT_EQ((*t)[s].tables[c][0].offset, per_level[s][c].offset);
      }
  }
}

TEST(UnpackTablesTest, InconsistentBuffersAreFailedPrecondition) {
  const PackedFactorizedTables packed = PackFactorizedTables(FourTables(), 2);
  const at::Tensor ragged = RaggedCdf(packed.cdf, packed.sizes);
  auto code = [&](const at::Tensor& cdf, const at::Tensor& sizes, const at::Tensor& predict, int buckets) {
    return UnpackTables(cdf, sizes, packed.offsets, predict, buckets).status().code();
  };
  const auto kFailed = absl::StatusCode::kFailedPrecondition;
  // One entry more than the sizes add up to.
  EXPECT_EQ(code(at::cat({ragged, at::zeros({1}, at::kInt)}), packed.sizes, at::Tensor(), 0), kFailed);
  // A size past the end of the buffer.
  EXPECT_EQ(code(ragged, packed.sizes + 1, at::Tensor(), 0), kFailed);
  // A row whose entries are not a CDF (the first row shifted by one).
  EXPECT_EQ(code(ragged.roll(1), packed.sizes, at::Tensor(), 0), kFailed);
  // Predict flags of the wrong shape; buckets that the sizes do not have.
  EXPECT_EQ(code(ragged, packed.sizes, at::zeros({2, 3}, at::kInt), 0), kFailed);
  EXPECT_EQ(code(ragged, packed.sizes, at::Tensor(), 2), kFailed);
  EXPECT_EQ(code(ragged, packed.sizes, at::Tensor(), 0), absl::StatusCode::kOk);
}

}  // namespace
}  // namespace mt
