#include "core/model/masker.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mt
