#include "core/model/mae.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <set>
#include <string>

#include "core/model/patchify.h"
#include "tests/test_util.h"

namespace mt {
namespace {


TEST(RandomMaskingTest, KeepsIntOfLTimesOneMinusRatioAndRestoreInvertsShuffle) {
  at::Generator gen = at::detail::createCPUGenerator(123);
  for (double ratio : {0.75, 0.5, 0.9, 0.0}) {
    RandomMaskingResult r = RandomMasking(4, 10, ratio, at::TensorOptions(), gen);
    const auto keep = static_cast<int64_t>(10 * (1.0 - ratio));
    ASSERT_EQ(r.ids_keep.size(1), keep) << "ratio " << ratio;
    EXPECT_EQ(r.mask.sum().item<double>(), 4.0 * (10 - keep));
    for (int64_t b = 0; b < 4; ++b) {
      // mask is 0 exactly at the kept ids.
      EXPECT_EQ(r.mask[b].index_select(0, r.ids_keep[b]).sum().item<double>(), 0.0);
      // ids_restore is the inverse permutation: shuffle[restore[i]] = i.
      at::Tensor shuffle = at::argsort(r.ids_restore[b], int64_t{0});
      EXPECT_TRUE(at::equal(shuffle.index_select(0, r.ids_restore[b]), at::arange(10, at::kLong)));
      EXPECT_TRUE(at::equal(shuffle.narrow(0, 0, keep), r.ids_keep[b]));
    }
  }
}

TEST(MaeTest, ParameterNamesFollowOfficialMae) {
  MaskedAutoencoder mae(test::TinyMaeOptions());
  std::set<std::string> names;
  for (const auto& p : mae->named_parameters()) names.insert(p.key());
  for (const char* want :
       {"patch_embed.proj.weight", "patch_embed.proj.bias", "cls_token", "pos_embed",
        "blocks.0.norm1.weight", "blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias",
        "blocks.1.attn.proj.weight", "blocks.1.norm2.bias", "blocks.1.mlp.fc1.weight",
        "blocks.1.mlp.fc2.bias", "norm.weight", "decoder_embed.weight", "mask_token",
        "decoder_pos_embed", "decoder_blocks.0.attn.qkv.weight", "decoder_norm.bias",
        "decoder_pred.weight", "decoder_pred.bias"})
    EXPECT_TRUE(names.count(want)) << "missing " << want;
  EXPECT_FALSE(mae->pos_embed.requires_grad());
  EXPECT_FALSE(mae->decoder_pos_embed.requires_grad());
  EXPECT_EQ(mae->decoder_embed->weight.sizes(), at::IntArrayRef({16, 32}));
  EXPECT_EQ(mae->decoder_pred->weight.sizes(), at::IntArrayRef({12, 16}));
  EXPECT_EQ(mae->blocks[0]->as<Block>()->mlp->fc1->weight.size(0), 128);  // MLP ratio 4
}

TEST(MaeTest, LossIsMseOverRemovedPatchesOnly) {
  at::manual_seed(3);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  at::Tensor images = at::rand({2, 3, 8, 8});
  at::Generator gen = at::detail::createCPUGenerator(5);
  MaePretrainOutput out = mae->forward(images, 0.75, gen);
  ASSERT_EQ(out.pred.sizes(), at::IntArrayRef({2, 16, 12}));
  at::Tensor target = Patchify(images, 2);
  at::Tensor per_patch = (out.pred - target).pow(2).mean(-1);
  double want = 0;
  int removed = 0;
  for (int b = 0; b < 2; ++b)
    for (int l = 0; l < 16; ++l)
      if (out.mask[b][l].item<float>() == 1.f) {
        want += per_patch[b][l].item<double>();
        ++removed;
      }
  EXPECT_EQ(removed, 2 * (16 - 4));
  EXPECT_NEAR(out.loss.item<double>(), want / removed, 1e-6);
}

TEST(MaeTest, ScatterToGridMatchesOfficialGatherWithIdsRestore) {
  at::manual_seed(4);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  RandomMaskingResult r = RandomMasking(3, 16, 0.75, at::TensorOptions());
  at::Tensor kept = at::randn({3, 4, 16});
  // Official: x_ = cat(kept, mask tokens); gather(x_, ids_restore).
  at::Tensor x = at::cat({kept, mae->mask_token.expand({3, 12, 16})}, 1);
  at::Tensor official = at::gather(x, 1, r.ids_restore.unsqueeze(-1).expand({-1, -1, 16}));
  EXPECT_TRUE(at::equal(mae->ScatterToGrid(kept, r.ids_keep), official));
}

TEST(MaeTest, VisibleEncodeOfAllPatchesEqualsFullEncode) {
  at::manual_seed(5);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  mae->eval();
  at::Tensor images = at::rand({2, 3, 8, 8});
  at::Tensor full = mae->EncodeFull(images);
  ASSERT_EQ(full.sizes(), at::IntArrayRef({2, 17, 32}));
  at::Tensor all = at::arange(16, at::kLong).expand({2, 16});
  EXPECT_TRUE(at::allclose(mae->EncodeVisible(images, all), full, 1e-5, 1e-6));
  at::Tensor some = at::tensor({0, 5, 9}, at::kLong).expand({2, 3});
  EXPECT_EQ(mae->EncodeVisible(images, some).sizes(), at::IntArrayRef({2, 4, 32}));
}

TEST(MaeTest, SoftMixInterpolatesAfterDecoderEmbed) {
  at::manual_seed(6);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  at::Tensor latent = at::randn({2, 17, 32});
  at::Tensor projected = mae->EmbedForDecoder(latent).narrow(1, 1, 16);
  // m = 1 gives the projected feature (to GEMM rounding: SoftMix projects only the patch
  // rows); m = 0 exactly the mask token; m = ½ the midpoint.
  EXPECT_TRUE(at::allclose(mae->SoftMix(latent, at::ones({2, 16})), projected, 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(mae->SoftMix(latent, at::zeros({2, 16})), mae->mask_token.expand({2, 16, 16})));
  EXPECT_TRUE(at::allclose(mae->SoftMix(latent, at::full({2, 16}, 0.5)),
                           0.5 * projected + 0.5 * mae->mask_token, 1e-5, 1e-6));
}

TEST(MaeTest, HardKeepMaskDecodeEqualsVisibleScatter) {
  at::manual_seed(7);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  mae->eval();
  at::Tensor latent = mae->EmbedForDecoder(at::randn({1, 17, 16 * 2}));
  at::Tensor keep = at::zeros({1, 16}, at::kBool);
  at::Tensor ids = at::tensor({1, 4, 11}, at::kLong).reshape({1, 3});
  keep.index_put_({0, ids[0]}, true);
  at::Tensor masked = mae->ApplyKeepMask(latent.narrow(1, 1, 16), keep);
  at::Tensor scattered = mae->ScatterToGrid(latent.narrow(1, 1, 16).index_select(1, ids[0]), ids);
  EXPECT_TRUE(at::equal(masked, scattered));
  at::Tensor pred = mae->Decode(latent.narrow(1, 0, 1), masked);
  EXPECT_EQ(mae->PatchesToImages(pred).sizes(), at::IntArrayRef({1, 3, 8, 8}));
}

TEST(MaeTest, NormPixLossNormalisesTargetsPerPatch) {
  MaskedAutoencoderOptions o = test::TinyMaeOptions();
  o.norm_pix_loss = true;
  MaskedAutoencoder mae(o);
  at::Tensor images = at::rand({1, 3, 8, 8});
  at::Tensor t = Patchify(images, 2);
  at::Tensor normalised = (t - t.mean(-1, true)) / at::sqrt(t.var(-1, true, true) + 1e-6);
  // Predicting the normalised target exactly gives zero loss.
  EXPECT_NEAR(mae->ReconstructionLoss(images, normalised, at::ones({1, 16})).item<double>(), 0.0, 1e-10);
  EXPECT_FALSE(MaskedAutoencoderOptions{}.norm_pix_loss) << "default must be off";
}

TEST(MaeTest, PretrainingStepReducesLoss) {
  at::manual_seed(8);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  at::Tensor images = at::rand({4, 3, 8, 8});
  std::vector<at::Tensor> params;
  for (auto& p : mae->parameters())
    if (p.requires_grad()) params.push_back(p);
  auto loss_at = [&]() {
    at::Generator gen = at::detail::createCPUGenerator(9);
    return mae->forward(images, 0.75, gen).loss;
  };
  const double before = loss_at().item<double>();
  for (int step = 0; step < 20; ++step) {
    at::Tensor loss = loss_at();
    for (auto& p : params) p.mutable_grad() = at::Tensor();
    loss.backward();
    torch::NoGradGuard g;
    for (auto& p : params) p.sub_(p.grad() * 0.05);
  }
  EXPECT_LT(loss_at().item<double>(), 0.7 * before);
}

}  // namespace
}  // namespace mt
