// The latent MAE's pretraining task: its random masks, the codec's shapes, and that its steps
// lower the loss of filling in unsent positions on a fixed batch.
#include "core/train/latent_mae_task.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include "core/io/checkpoint.h"
#include "core/io/latent_mae_checkpoint.h"
#include "tests/test_util.h"

namespace mt {
namespace {

TEST(LatentMaeTaskTest, RandomKeepLeavesTheAskedShareUnsentTheSameForTheSameSeed) {
  const at::Tensor keep = RandomKeep(4, 5, {0.0, 0.25, 0.5, 1.0}, 7);
  ASSERT_EQ(keep.sizes(), (std::vector<int64_t>{4, 4, 5}));
  const at::Tensor unsent = (~keep).flatten(1).sum(1);
  EXPECT_EQ(unsent[0].item<int64_t>(), 0);
  EXPECT_EQ(unsent[1].item<int64_t>(), 5);
  EXPECT_EQ(unsent[2].item<int64_t>(), 10);
  EXPECT_EQ(unsent[3].item<int64_t>(), 20);
  EXPECT_TRUE(at::equal(keep, RandomKeep(4, 5, {0.0, 0.25, 0.5, 1.0}, 7)));
  EXPECT_FALSE(at::equal(keep[2], RandomKeep(4, 5, {0.0, 0.25, 0.5, 1.0}, 8)[2]));
}

TEST(LatentMaeTaskTest, StepsLowerTheFillLossWithTheCodecsChannelsAndLevels) {
  at::manual_seed(31);
  const std::string codec_path = test::TempDir() + "/codec.pt";
  ConvCodec codec = test::TinyConvCodec();
  ASSERT_TRUE(SaveCheckpoint(codec_path, codec).ok());
  LatentMaeTaskConfig config;
  config.codec_checkpoint = codec_path;
  config.model.dim = 16;
  config.model.depth = 2;
  config.model.num_heads = 2;
  config.model.window = 2;
  config.min_mask_ratio = 0.25;
  config.max_mask_ratio = 0.5;
  absl::StatusOr<std::unique_ptr<LatentMaeTask>> created = LatentMaeTask::Create(config);
  ASSERT_TRUE(created.ok()) << created.status();
  LatentMaeTask& task = **created;
  EXPECT_EQ(task.kind(), kLatentMaeKind);
  auto& mae = dynamic_cast<LatentMaeImpl&>(task.module());
  EXPECT_EQ(mae.options().latent_channels, 4);  // the codec's
  EXPECT_EQ(mae.options().levels, 3);
  task.SetTraining(true);
  // 64×64 images: 4×4 latent positions; smooth colour ramps a neighbour predicts well.
  const at::Tensor ramp = at::linspace(0, 1, 64).view({1, 1, 1, 64});
  const at::Tensor images = (0.2 + 0.6 * ramp * at::rand({4, 3, 1, 1})).expand({4, 3, 64, 64}).contiguous();
  torch::optim::Adam opt(task.module().parameters(), torch::optim::AdamOptions(3e-3));
  double first = 0, last = 0;
  for (int step = 0; step < 80; ++step) {
    StepResult r = task.TrainStep(images, step);
    opt.zero_grad();
    r.loss.backward();
    opt.step();
    // The fill's own error: the pixel term's floor is this untrained codec's error.
    if (step < 10) first += r.metrics.at("latent_mse").item<double>() / 10;
    if (step >= 70) last += r.metrics.at("latent_mse").item<double>() / 10;
  }
  EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
  // The first batch set each channel's scale (its RMS latent), and later batches left it.
  EXPECT_FALSE(mae.latent_scale.eq(1.0).all().item<bool>());
  EXPECT_TRUE((mae.latent_scale > 0).all().item<bool>());
}

}  // namespace
}  // namespace mt
