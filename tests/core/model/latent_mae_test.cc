// The latent MAE: any grid size, unsent values ignored, sent ones kept by Fill, attention confined
// to windows that the shifted blocks connect, and checkpoints that load back to the same outputs.
#include "core/model/latent_mae.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/config/latent_mae_config.h"
#include "core/io/checkpoint.h"
#include "core/io/latent_mae_checkpoint.h"
#include "tests/test_util.h"

namespace mt {
namespace {

LatentMaeOptions Tiny(int64_t depth) {
  LatentMaeOptions o;
  o.latent_channels = 6;
  o.dim = 16;
  o.depth = depth;
  o.num_heads = 2;
  o.window = 4;
  o.levels = 3;
  return o;
}

LatentMae Eval(const LatentMaeOptions& o, int seed) {
  at::manual_seed(seed);
  LatentMae m(o);
  m->eval();
  return m;
}

TEST(LatentMaeTest, AnyGridSizeGivesOneLatentPerPosition) {
  torch::NoGradGuard no_grad;
  LatentMae m = Eval(Tiny(2), 1);
  for (auto [h, w] : {std::pair<int64_t, int64_t>{5, 11}, {1, 1}, {8, 8}, {13, 3}}) {
    const at::Tensor y = at::randn({2, 6, h, w});
    const at::Tensor keep = at::rand({2, h, w}) > 0.5;
    const at::Tensor out = m->forward(y, keep, at::tensor({0L, 2L}));
    EXPECT_EQ(out.sizes(), y.sizes()) << h << "x" << w;
    EXPECT_TRUE(out.isfinite().all().item<bool>());
  }
}

TEST(LatentMaeTest, UnsentValuesAreIgnoredAndFillKeepsTheSentOnes) {
  torch::NoGradGuard no_grad;
  LatentMae m = Eval(Tiny(2), 2);
  const at::Tensor y = at::randn({1, 6, 7, 9});
  const at::Tensor keep = at::rand({1, 7, 9}) > 0.4;
  const at::Tensor garbage = at::where(keep.unsqueeze(1), y, at::full_like(y, 1e30));
  const at::Tensor levels = at::tensor({1L});
  EXPECT_TRUE(at::equal(m->forward(y, keep, levels), m->forward(garbage, keep, levels)));
  const at::Tensor filled = m->Fill(y, keep, levels);
  EXPECT_TRUE(at::equal(filled.masked_select(keep.unsqueeze(1)), y.masked_select(keep.unsqueeze(1))));
  // The level is an input: another level predicts other latents.
  EXPECT_FALSE(at::allclose(m->forward(y, keep, levels), m->forward(y, keep, at::tensor({2L}))));
}

TEST(LatentMaeTest, OneBlockAttendsWithinItsWindowAndShiftedBlocksReachAcross) {
  torch::NoGradGuard no_grad;
  const at::Tensor y = at::randn({1, 6, 8, 8});
  const at::Tensor keep = at::ones({1, 8, 8}, at::kBool);
  at::Tensor changed = y.clone();
  changed[0][0][0][0] += 5.0;  // position (0, 0): the top-left window of side 4
  const at::Tensor levels = at::tensor({0L});
  // One unshifted block: the 3×3 position conv reaches one position, attention the window, so
  // the windows to the right (columns 4..7) and below (rows 4..7) do not move.
  LatentMae one = Eval(Tiny(1), 3);
  const at::Tensor a = one->forward(y, keep, levels), b = one->forward(changed, keep, levels);
  EXPECT_TRUE(at::equal(a.slice(3, 4), b.slice(3, 4)));
  EXPECT_TRUE(at::equal(a.slice(2, 4), b.slice(2, 4)));
  EXPECT_FALSE(at::allclose(a.slice(2, 0, 4).slice(3, 0, 4), b.slice(2, 0, 4).slice(3, 0, 4)));
  // A second block, shifted by 2, has windows across columns 2..5: column 5 moves.
  LatentMae two = Eval(Tiny(2), 3);
  const at::Tensor c = two->forward(y, keep, levels), d = two->forward(changed, keep, levels);
  EXPECT_FALSE(at::allclose(c.slice(3, 5, 6).slice(2, 0, 2), d.slice(3, 5, 6).slice(2, 0, 2)));
  EXPECT_TRUE(at::equal(c.slice(3, 6), d.slice(3, 6)));  // beyond the shifted windows' reach
}

TEST(LatentMaeTest, CheckpointLoadsBackToTheSameOutputs) {
  torch::NoGradGuard no_grad;
  LatentMae m = Eval(Tiny(2), 4);
  m->latent_scale.copy_(at::rand({6}) + 0.5);
  const std::string path = test::TempDir() + "/latent_mae.pt";
  ASSERT_TRUE(SaveCheckpoint(path, m, nullptr).ok());
  absl::StatusOr<LatentMae> loaded = LoadLatentMae(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->options().window, 4);
  const at::Tensor y = at::randn({1, 6, 5, 6});
  const at::Tensor keep = at::rand({1, 5, 6}) > 0.3;
  EXPECT_TRUE(at::equal(m->forward(y, keep, at::tensor({1L})), (*loaded)->forward(y, keep, at::tensor({1L}))));
  // Another kind is refused by name.
  const std::string codec_path = test::TempDir() + "/codec.pt";
  ConvCodec codec = test::TinyConvCodec();
  ASSERT_TRUE(SaveCheckpoint(codec_path, codec).ok());
  absl::StatusOr<LatentMae> wrong = LoadLatentMae(codec_path);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(wrong.status().message().find("conv_codec"), std::string::npos) << wrong.status();
}

TEST(LatentMaeTest, OptionsRoundTripAndBadOnesNameTheKey) {
  LatentMaeOptions o = Tiny(3);
  o.mlp_ratio = 1.5;
  absl::StatusOr<LatentMaeOptions> back = LatentMaeOptionsFromYaml(ToYaml(o));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->depth, 3);
  EXPECT_EQ(back->dim, 16);
  EXPECT_DOUBLE_EQ(back->mlp_ratio, 1.5);
  absl::StatusOr<LatentMaeOptions> bad = LatentMaeOptionsFromYaml("dim: 10\nnum_heads: 3\n");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("num_heads"), std::string::npos) << bad.status();
  EXPECT_EQ(LatentMaeOptionsFromYaml("wndow: 4\n").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mt
