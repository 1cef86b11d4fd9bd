// The conv codec's training task: λ per level, the initial steps, that its steps lower the
// rate–distortion loss on a fixed batch, and that training the entropy model alone (a
// checkerboard context added to a hyperprior codec) moves nothing else and lowers the rate.
#include "core/train/conv_codec_task.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/optim/adam.h>

#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "core/io/checkpoint.h"
#include "tests/test_util.h"

namespace mt {
namespace {

ConvCodecTaskConfig Tiny(int64_t levels) {
  ConvCodecTaskConfig c;
  c.model.hidden_channels = 8;
  c.model.latent_channels = 4;
  c.model.levels = levels;
  c.model.tile_size = 32;
  c.lambda_max = 0.08;
  c.lambda_min = 0.005;
  return c;
}

// Runs `steps` Adam steps (lr 3e-3) of `task` on `images` over `params`, calling
// `after_backward(step)` between backward and the update; → the mean loss of the first and of
// the last five steps.
std::pair<double, double> TrainFirstAndLast(ConvCodecTask& task, const at::Tensor& images,
                                            const std::vector<at::Tensor>& params, int steps = 60,
                                            const std::function<void(int)>& after_backward = nullptr) {
  torch::optim::Adam opt(params, torch::optim::AdamOptions(3e-3));
  double first = 0, last = 0;
  for (int step = 0; step < steps; ++step) {
    StepResult r = task.TrainStep(images, step);
    opt.zero_grad();
    r.loss.backward();
    if (after_backward) after_backward(step);
    opt.step();
    if (step < 5) first += r.loss.item<double>() / 5;
    if (step >= steps - 5) last += r.loss.item<double>() / 5;
  }
  return {first, last};
}

TEST(ConvCodecTaskTest, LambdasAreGeometricAndStepsStartAtTheHighRateOptimum) {
  const std::vector<double> lambdas = LevelLambdas(Tiny(3));
  ASSERT_EQ(lambdas.size(), 3u);
  EXPECT_NEAR(lambdas[0], 0.08, 1e-12);
  EXPECT_NEAR(lambdas[1], 0.02, 1e-12);  // sqrt(0.08 · 0.005)
  EXPECT_NEAR(lambdas[2], 0.005, 1e-12);
  absl::StatusOr<std::unique_ptr<ConvCodecTask>> task = ConvCodecTask::Create(Tiny(3));
  ASSERT_TRUE(task.ok()) << task.status();
  auto& codec = dynamic_cast<ConvCodecImpl&>((*task)->module());
  // Δ_s = sqrt(λ_0 / λ_s): 1, 2, 4 for every channel.
  EXPECT_TRUE(at::allclose(codec.Steps(), at::tensor({1.0f, 2.0f, 4.0f}).view({3, 1}).expand({3, 4}), 1e-5, 1e-6));
  EXPECT_EQ((*task)->kind(), "conv_codec");
}

TEST(ConvCodecTaskTest, ExtendLevelStepsContinuesTheMeanIncrementOfTheLastThreeLevels) {
  // Channel 0 steps by 0.1, 0.2, 0.3 (mean of the last three: 0.2); channel 1 by 0.5 each.
  const at::Tensor log_steps = at::tensor({0.0f, 0.0f, 0.1f, 0.5f, 0.3f, 1.0f, 0.6f, 1.5f}).view({4, 2});
  const at::Tensor extended = ExtendLevelSteps(log_steps, 6);
  const at::Tensor expected =
      at::tensor({0.0f, 0.0f, 0.1f, 0.5f, 0.3f, 1.0f, 0.6f, 1.5f, 0.8f, 2.0f, 1.0f, 2.5f}).view({6, 2});
  EXPECT_TRUE(at::allclose(extended, expected, 1e-6, 1e-6)) << extended;
  // Two trained levels: the one interval is the increment.
  EXPECT_TRUE(at::allclose(ExtendLevelSteps(log_steps.slice(0, 0, 2), 3).slice(0, 2),
                           at::tensor({0.2f, 1.0f}).view({1, 2}), 1e-6, 1e-6));
}

TEST(ConvCodecTaskTest, ExtendLevelStepsPrependsFinerLevelsContinuingTheFirstIncrements) {
  // Channel 0's first three increments 0.1, 0.2, 0.3 (mean 0.2); channel 1 steps by 0.5.
  const at::Tensor log_steps = at::tensor({0.0f, 0.0f, 0.1f, 0.5f, 0.3f, 1.0f, 0.6f, 1.5f}).view({4, 2});
  const at::Tensor extended = ExtendLevelSteps(log_steps, 7, 2);
  const at::Tensor expected = at::tensor({-0.4f, -1.0f, -0.2f, -0.5f, 0.0f, 0.0f, 0.1f, 0.5f, 0.3f, 1.0f, 0.6f, 1.5f,
                                          0.8f, 2.0f})  // the last row: one coarser level as before
                                  .view({7, 2});
  EXPECT_TRUE(at::allclose(extended, expected, 1e-6, 1e-6)) << extended;
  EXPECT_TRUE(at::equal(ExtendLevelSteps(log_steps, 6, 0), ExtendLevelSteps(log_steps, 6)));
}

// A 3-level tiny codec with steps 1, 2, 4 in every channel (random transforms from `seed`), saved
// to `path`: an init checkpoint with fewer levels than the configs below.
ConvCodec SaveThreeLevelInit(const std::string& path, uint64_t seed) {
  at::manual_seed(seed);
  ConvCodec trained(Tiny(3).model);
  {
    torch::NoGradGuard no_grad;
    trained->log_steps.copy_(at::log(at::tensor({1.0f, 2.0f, 4.0f})).view({3, 1}).expand({3, 4}));
  }
  EXPECT_TRUE(SaveCheckpoint(path, trained).ok());
  return trained;
}

TEST(ConvCodecTaskTest, FinerLevelsComeBeforeTheInitCheckpointsLevels) {
  const std::string path = test::TempDir() + "/init3_finer.pt";
  const ConvCodec trained = SaveThreeLevelInit(path, 6);
  ConvCodecTaskConfig five = Tiny(5);
  five.init_checkpoint = path;
  five.finer_levels = 2;
  absl::StatusOr<std::unique_ptr<ConvCodecTask>> task = ConvCodecTask::Create(five);
  ASSERT_TRUE(task.ok()) << task.status();
  auto& codec = dynamic_cast<ConvCodecImpl&>((*task)->module());
  // Steps 1, 2, 4 become levels 2-4; levels 0 and 1 continue the halving: 1/4, 1/2.
  EXPECT_TRUE(at::allclose(codec.Steps(), at::tensor({0.25f, 0.5f, 1.0f, 2.0f, 4.0f}).view({5, 1}).expand({5, 4}),
                           1e-5, 1e-6));
  EXPECT_TRUE(at::equal(codec.synthesis->parameters()[0], trained->synthesis->parameters()[0]));
  // No room for three finer levels beside the init's three in a 5-level model.
  five.finer_levels = 3;
  absl::StatusOr<std::unique_ptr<ConvCodecTask>> crowded = ConvCodecTask::Create(five);
  EXPECT_EQ(crowded.status().code(), absl::StatusCode::kFailedPrecondition) << crowded.status();
}

TEST(ConvCodecTaskTest, InitCheckpointWithFewerLevelsGetsCoarserLevelsAndKeepsItsWeights) {
  const std::string path = test::TempDir() + "/init3.pt";
  const ConvCodec trained = SaveThreeLevelInit(path, 5);
  ConvCodecTaskConfig five = Tiny(5);
  five.init_checkpoint = path;
  absl::StatusOr<std::unique_ptr<ConvCodecTask>> task = ConvCodecTask::Create(five);
  ASSERT_TRUE(task.ok()) << task.status();
  auto& codec = dynamic_cast<ConvCodecImpl&>((*task)->module());
  // Steps 1, 2, 4 (log increment ln 2) continue to 8 and 16; the transforms are the init's.
  EXPECT_TRUE(at::allclose(codec.Steps(), at::tensor({1.0f, 2.0f, 4.0f, 8.0f, 16.0f}).view({5, 1}).expand({5, 4}),
                           1e-5, 1e-6));
  EXPECT_TRUE(at::equal(codec.analysis->parameters()[0], trained->analysis->parameters()[0]));
  EXPECT_EQ(codec.log_steps.requires_grad(), true);
  // Fewer levels than the checkpoint's cannot be made from it.
  ConvCodecTaskConfig two = Tiny(2);
  two.init_checkpoint = path;
  absl::StatusOr<std::unique_ptr<ConvCodecTask>> fewer = ConvCodecTask::Create(two);
  EXPECT_EQ(fewer.status().code(), absl::StatusCode::kFailedPrecondition) << fewer.status();
}

TEST(ConvCodecTaskTest, TrainingStepsLowerTheLossOnAFixedBatch) {
  at::manual_seed(23);
  ConvCodecTaskConfig config = Tiny(1);
  config.lambda_min = config.lambda_max;
  std::unique_ptr<ConvCodecTask> task = *ConvCodecTask::Create(config);
  task->SetTraining(true);
  // Smooth images (a codec's easy case): gradients plus noise-free colour.
  const at::Tensor ramp = at::linspace(0, 1, 32).view({1, 1, 1, 32});
  const at::Tensor images = (0.3 + 0.4 * ramp * at::rand({4, 3, 1, 1})).expand({4, 3, 32, 32}).contiguous();
  const auto [first, last] = TrainFirstAndLast(*task, images, task->module().parameters());
  EXPECT_LT(last, 0.7 * first) << "first " << first << " last " << last;
}

TEST(ConvCodecTaskTest, AHyperpriorCodecStartsFromAFactorizedOneAndItsStepsLowerTheLoss) {
  at::manual_seed(29);
  const std::string path = test::TempDir() + "/factorized.pt";
  ConvCodecTaskConfig config = Tiny(1);
  config.lambda_min = config.lambda_max;
  ConvCodec factorized(config.model);
  ASSERT_TRUE(SaveCheckpoint(path, factorized).ok());
  config.model.hyper_channels = 3;
  config.init_checkpoint = path;
  std::unique_ptr<ConvCodecTask> task = *ConvCodecTask::Create(config);
  auto& codec = dynamic_cast<ConvCodecImpl&>(task->module());
  ASSERT_TRUE(codec.hyper);
  EXPECT_TRUE(at::equal(codec.analysis->parameters()[0], factorized->analysis->parameters()[0]));
  task->SetTraining(true);
  const at::Tensor ramp = at::linspace(0, 1, 64).view({1, 1, 1, 64});
  const at::Tensor images = (0.3 + 0.4 * ramp * at::rand({4, 3, 1, 1})).expand({4, 3, 64, 64}).contiguous();
  const auto [first, last] = TrainFirstAndLast(*task, images, task->module().parameters(), 60, [&](int step) {
    if (step != 0) return;
    // The rate reaches the hyperprior: its side transforms get gradients.
    const at::Tensor g = codec.hyper->analysis->parameters()[0].grad();
    ASSERT_TRUE(g.defined());
    EXPECT_GT(g.abs().sum().item<double>(), 0.0);
  });
  EXPECT_LT(last, 0.7 * first) << "first " << first << " last " << last;
}

TEST(ConvCodecTaskTest, TrainingTheEntropyModelAloneAddsAContextAndLowersTheRate) {
  at::manual_seed(31);
  const std::string path = test::TempDir() + "/hyper.pt";
  ConvCodecTaskConfig config = Tiny(1);
  config.lambda_min = config.lambda_max;
  config.model.tile_size = 64;
  config.model.hyper_channels = 3;
  ConvCodec hyper(config.model);
  ASSERT_TRUE(SaveCheckpoint(path, hyper).ok());
  config.model.checkerboard_channels = 8;
  config.init_checkpoint = path;
  config.trainable = "entropy";
  std::unique_ptr<ConvCodecTask> task = *ConvCodecTask::Create(config);
  auto& codec = dynamic_cast<ConvCodecImpl&>(task->module());
  ASSERT_TRUE(codec.context);
  const at::Tensor analysis = codec.analysis->parameters()[0].detach().clone();
  const at::Tensor hyper_weight = codec.hyper->synthesis->parameters()[0].detach().clone();
  EXPECT_TRUE(at::equal(hyper_weight, hyper->hyper->synthesis->parameters()[0]));
  task->SetTraining(true);
  // Smooth ramps: neighbouring latents agree, so the anchors say much about the rest.
  const at::Tensor ramp = at::linspace(0, 1, 64).view({1, 1, 1, 64});
  const at::Tensor images = (0.2 + 0.6 * ramp * at::rand({4, 3, 1, 1})).expand({4, 3, 64, 64}).contiguous();
  std::vector<at::Tensor> trained;
  for (auto& p : codec.parameters())
    if (p.requires_grad()) trained.push_back(p);
  const auto [first, last] = TrainFirstAndLast(*task, images, trained);
  EXPECT_LT(last, 0.8 * first) << "first " << first << " last " << last;  // bits alone
  EXPECT_TRUE(at::equal(codec.analysis->parameters()[0], analysis));     // the transforms stay
  EXPECT_FALSE(codec.analysis->parameters()[0].requires_grad());
  EXPECT_FALSE(codec.log_steps.requires_grad());
  EXPECT_FALSE(at::equal(codec.hyper->synthesis->parameters()[0], hyper_weight));  // the hyperprior trains
  EXPECT_GT(codec.context->out->weight.abs().max().item<double>(), 0.0);         // and the context left 0
}

}  // namespace
}  // namespace mt
