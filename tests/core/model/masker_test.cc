#include "core/model/masker.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <vector>

#include "core/masking/gumbel_sigmoid.h"
#include "core/masking/losses.h"
#include "core/model/mae.h"
#include "tests/test_util.h"

namespace mt {
namespace {

int64_t CountParameters(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

TEST(MaskerTest, SeedSizedTransformerHasAboutOneMillionParameters) {
  Masker masker(MaskerOptions{});
  // Patch embed 2,496 + 2 blocks × 444,864 + norm 384 + head 148,993 (= 192·768+768 + 768+1).
  EXPECT_EQ(CountParameters(*masker), 2496 + 2 * 444864 + 384 + 148993);
}

TEST(MaskerTest, BothKindsGiveOneLogitPerPatch) {
  for (MaskerKind kind : {MaskerKind::kTransformer, MaskerKind::kCnn}) {
    MaskerOptions o;
    o.kind = kind;
    o.img_size = 16;
    o.patch_size = 4;
    o.embed_dim = 32;
    o.cnn_channels = 8;
    Masker masker(o);
    at::Tensor logits = masker->forward(at::rand({3, 3, 16, 16}));
    EXPECT_EQ(logits.sizes(), at::IntArrayRef({3, 16})) << MaskerKindName(kind);
    EXPECT_TRUE(at::isfinite(logits).all().item<bool>());
  }
}

TEST(MaskerTest, CnnLogitOrderIsRowMajorOverThePatchGrid) {
  // With no grid blocks the CNN is local: changing pixels of patch (row 1, col 0) on a
  // 2×2 grid changes only logit index 2.
  MaskerOptions o;
  o.kind = MaskerKind::kCnn;
  o.img_size = 8;
  o.patch_size = 4;
  o.cnn_channels = 4;
  o.cnn_grid_blocks = 0;
  at::manual_seed(2);
  Masker masker(o);
  at::Tensor img = at::rand({1, 3, 8, 8});
  at::Tensor a = masker->forward(img);
  // Rows 6–7, cols 0–1 of patch (1, 0): more than 2 px (two 3×3 convs) from every other patch.
  img.narrow(2, 6, 2).narrow(3, 0, 2).add_(0.5);
  at::Tensor delta = (masker->forward(img) - a).abs()[0];
  EXPECT_GT(delta[2].item<float>(), 0.f);
  EXPECT_EQ(delta[0].item<float>(), 0.f);
  EXPECT_EQ(delta[1].item<float>(), 0.f);
  EXPECT_EQ(delta[3].item<float>(), 0.f);
}

TEST(MaskerTest, GradientsReachOnlyTheMaskerWhenTheMaeIsFrozen) {
  at::manual_seed(11);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  mae->eval();
  for (auto& p : mae->parameters()) p.requires_grad_(false);
  MaskerOptions ko;
  ko.img_size = 8;
  ko.embed_dim = 32;
  Masker masker(ko);

  at::Tensor images = at::rand({2, 3, 8, 8});
  at::Tensor logits = masker->forward(images);
  at::Tensor m = GumbelSigmoid(logits, {0.8, true, false});
  at::Tensor latent = mae->EncodeFull(images);
  at::Tensor tokens = mae->SoftMix(latent, m);
  at::Tensor recon = mae->PatchesToImages(mae->Decode(mae->EmbedForDecoder(latent.narrow(1, 0, 1)), tokens));
  MaskerLossTerms loss = MaskerLoss(images, recon, m, at::sigmoid(logits), 2);
  loss.total.backward();

  int with_grad = 0;
  for (const auto& p : masker->parameters())
    if (p.grad().defined() && p.grad().abs().sum().item<double>() > 0) ++with_grad;
  EXPECT_EQ(with_grad, static_cast<int>(masker->parameters().size()));
  for (const auto& p : mae->named_parameters()) EXPECT_FALSE(p.value().grad().defined()) << p.key();
}

TEST(MaskerTest, LateralInhibitionMatchesHandValues) {
  // A 1×3 grid, α = 1. z = (2, 0, −1); σ(2) = 0.880797, σ(0) = 0.5, σ(−1) = 0.268941.
  //   z'0 = 2 − σ(0)·σ(0 − 2)                      = 2 − 0.5·0.119203            = 1.940399
  //   z'1 = 0 − σ(2)·σ(2 − 0) − σ(−1)·σ(−1 − 0)    = −0.775803 − 0.072329        = −0.848132
  //   z'2 = −1 − σ(0)·σ(0 + 1)                     = −1 − 0.5·0.731059           = −1.365529
  at::Tensor z = at::tensor(std::vector<double>{2, 0, -1}, at::kDouble).reshape({1, 3});
  at::Tensor want = at::tensor(std::vector<double>{1.940399, -0.848132, -1.365529}, at::kDouble).reshape({1, 3});
  EXPECT_TRUE(at::allclose(LateralInhibition(z, 1, 3, 1.0), want, 0, 1e-6)) << LateralInhibition(z, 1, 3, 1.0);
}

TEST(MaskerTest, LateralInhibitionMatchesALoopOverNeighbours) {
  at::manual_seed(3);
  const int64_t gh = 3, gw = 4;
  const double alpha = 2.5;
  at::Tensor z = at::randn({2, gh * gw}, at::kDouble) * 2;
  at::Tensor got = LateralInhibition(z, gh, gw, alpha);
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t y = 0; y < gh; ++y)
      for (int64_t x = 0; x < gw; ++x) {
        const double zi = z[b][y * gw + x].item<double>();
        double s = 0;
        for (int64_t ny = y - 1; ny <= y + 1; ++ny)
          for (int64_t nx = x - 1; nx <= x + 1; ++nx) {
            if ((ny == y && nx == x) || ny < 0 || nx < 0 || ny >= gh || nx >= gw) continue;
            const double zj = z[b][ny * gw + nx].item<double>();
            s += sig(zj) * sig(zj - zi);
          }
        EXPECT_NEAR(got[b][y * gw + x].item<double>(), zi - alpha * s, 1e-12) << b << " " << y << " " << x;
      }
}

TEST(MaskerTest, InhibitionThinsAClusterAndIsOffByDefault) {
  // Two equal strong neighbours and a lone strong patch far away: with α = 4 both cluster
  // members drop below p = 0.5 only if they suppress each other; the lone one stays.
  at::Tensor z = at::full({1, 16}, -4.0, at::kDouble);
  z[0][0] = 3.0;  // cluster (0,0)-(0,1): the stronger one keeps
  z[0][1] = 2.0;
  z[0][15] = 2.0;  // alone in the far corner
  at::Tensor p = at::sigmoid(LateralInhibition(z, 4, 4, 4.0));
  EXPECT_GT(p[0][0].item<double>(), 0.5);
  EXPECT_LT(p[0][1].item<double>(), 0.5);
  EXPECT_GT(p[0][15].item<double>(), 0.5);
  EXPECT_EQ(MaskerOptions{}.inhibition, 0.0);
  // A masker with inhibition is its backbone's logits passed through the layer (same weights).
  MaskerOptions o = test::TinyMaskerOptions();
  at::manual_seed(4);
  Masker plain(o);
  o.inhibition = 3.0;
  Masker inhibited(o);
  {
    torch::NoGradGuard no_grad;
    auto dst = inhibited->named_parameters();
    for (const auto& kv : plain->named_parameters()) dst[kv.key()].copy_(kv.value());
  }
  at::Tensor x = at::rand({2, 3, 8, 8});
  const int64_t g = o.grid_size();
  EXPECT_TRUE(at::allclose(inhibited->forward(x), LateralInhibition(plain->forward(x), g, g, 3.0), 0, 1e-6));
}

}  // namespace
}  // namespace mt
