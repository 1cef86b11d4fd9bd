#include "core/masking/losses.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/test_util.h"

namespace mt {
namespace {

TEST(LossesTest, MatchNumpyReference) {
  at::Tensor x = test::Ref("loss_images"), recon = test::Ref("loss_recon");
  at::Tensor mask = test::Ref("loss_mask"), probs = test::Ref("loss_probs");
  at::Tensor want = test::Ref("loss_terms");  // mse, sparsity, entropy, total
  EXPECT_TRUE(at::allclose(CompositeImage(x, recon, mask, 2), test::Ref("loss_composite"), 0, 1e-12));
  MaskerLossTerms t = MaskerLoss(x, recon, mask, probs, 2);
  EXPECT_NEAR(t.composite_mse.item<double>(), want[0].item<double>(), 1e-12);
  EXPECT_NEAR(t.sparsity.item<double>(), want[1].item<double>(), 1e-12);
  EXPECT_NEAR(t.entropy.item<double>(), want[2].item<double>(), 1e-12);
  EXPECT_NEAR(t.total.item<double>(), want[3].item<double>(), 1e-12);
}

TEST(LossesTest, HandMadeValues) {
  // One 2×2 image, one channel-replicated pixel pattern, patch 1 → 4 patches.
  at::Tensor x = at::full({1, 3, 2, 2}, 0.5, at::kDouble);
  at::Tensor recon = at::full({1, 3, 2, 2}, 1.5, at::kDouble);    // clamps to 1.0
  at::Tensor mask = at::tensor({1.0, 0.0, 0.0, 0.5}, at::kDouble).reshape({1, 4});
  // Composite: 0.5, 1.0, 1.0, 0.5·0.5 + 0.5·1.5 = 1.0 → errors 0, .25, .25, .25 → mean 0.1875.
  EXPECT_NEAR(CompositeMse(x, recon, mask, 1).item<double>(), 0.1875, 1e-12);
  EXPECT_NEAR(SparsityLoss(mask).item<double>(), std::pow(1.5 / 4, 2), 1e-12);
  // Entropy of {1, 0, 0, 0.5} with ε: only p = ½ contributes ≈ ln 2 (ε shifts it by ~1e-6).
  const double h_half = -2 * 0.5 * std::log(0.5 + 1e-6);
  const double h_one = -std::log(1 + 1e-6) - 0.0;  // −1·log(1+ε) − 0·log(ε)
  EXPECT_NEAR(BinaryEntropyLoss(mask).item<double>(), (h_half + 3 * h_one) / 4, 1e-12);
  MaskerLossTerms t = MaskerLoss(x, recon, mask, mask, 1, {0.2, 1e-6, 1e-6});
  EXPECT_NEAR(t.total.item<double>(),
              0.1875 + 0.2 * std::pow(1.5 / 4, 2) + 1e-6 * (h_half + 3 * h_one) / 4, 1e-12);
}

TEST(LossesTest, AdjacencyCountsEachNeighbourPairOnceOverTheSquaredMass) {
  // 3×3 grid: 6 horizontal + 6 vertical + 8 diagonal = 20 unordered neighbour pairs.
  auto grid = [](std::vector<double> v) { return at::tensor(v, at::kDouble).reshape({1, 9}); };
  auto adj = [](const at::Tensor& p, int64_t h, int64_t w) { return AdjacencyLoss(p, h, w).item<double>(); };
  constexpr double kEps = 1e-6;
  EXPECT_NEAR(adj(grid({0, 0, 0, 0, 1, 0, 0, 0, 0}), 3, 3), 0.0, 1e-12);
  EXPECT_NEAR(adj(grid({1, 0, 0, 0, 0, 0, 0, 0, 1}), 3, 3), 0.0, 1e-12);  // far corners
  EXPECT_NEAR(adj(grid({1, 1, 0, 0, 0, 0, 0, 0, 0}), 3, 3), 1.0 / (4 + kEps), 1e-12);
  EXPECT_NEAR(adj(grid({1, 0, 0, 0, 1, 0, 0, 0, 0}), 3, 3), 1.0 / (4 + kEps), 1e-12);  // ↘
  EXPECT_NEAR(adj(grid({0, 0, 1, 0, 1, 0, 0, 0, 0}), 3, 3), 1.0 / (4 + kEps), 1e-12);  // ↙
  // Scaling p leaves it unchanged (up to ε).
  EXPECT_NEAR(adj(grid({.5, .5, 0, 0, 0, 0, 0, 0, 0}), 3, 3), 0.25 / (1 + kEps), 1e-12);
  // Centre 0.5 next to all 8 others at 0.2: 8 pairs of 0.1; the ring has the other 12 pairs
  // (4 horizontal, 4 vertical, 4 diagonal like 1–5) of 0.04 → (0.8 + 0.48) / 2.1².
  EXPECT_NEAR(adj(grid({.2, .2, .2, .2, .5, .2, .2, .2, .2}), 3, 3), 1.28 / (2.1 * 2.1 + kEps), 1e-12);
  // A 1×3 grid (a patch-size-wide strip): only the 2 horizontal pairs exist.
  EXPECT_NEAR(adj(at::tensor(std::vector<double>{1, 1, 0}, at::kDouble).reshape({1, 3}), 1, 3), 1.0 / (4 + kEps), 1e-12);
  // Batch mean, and a 2×3 grid: 4 horizontal + 3 vertical + 4 diagonal = 11 pairs over 6².
  at::Tensor two = at::tensor(std::vector<double>{1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0}, at::kDouble).reshape({2, 6});
  EXPECT_NEAR(adj(two, 2, 3), 0.5 * (11.0 / (36 + kEps) + 0.0), 1e-12);
  // Its weight enters the total.
  at::Tensor x = at::full({1, 3, 3, 3}, 0.5, at::kDouble);
  at::Tensor m = grid({1, 1, 0, 0, 0, 0, 0, 0, 0});
  MaskerLossTerms off = MaskerLoss(x, x, m, m, 1, {0.2, 1e-6, 1e-6, 0.0});
  MaskerLossTerms on = MaskerLoss(x, x, m, m, 1, {0.2, 1e-6, 1e-6, 2.0});
  EXPECT_NEAR(on.adjacency.item<double>(), 1.0 / (4 + kEps), 1e-12);
  EXPECT_NEAR((on.total - off.total).item<double>(), 2.0 / (4 + kEps), 1e-12);
}

}  // namespace
}  // namespace mt
