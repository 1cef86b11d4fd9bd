#include "core/train/fit_loop.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/train/mae_task.h"
#include "core/train/run_directory.h"
#include "tests/test_util.h"

namespace mt {
namespace {

// Smooth random 8×8 images (a sum of a few gradients), deterministic per index.
class TinyImages final : public ImageDataset {
 public:
  int64_t size() const override { return 48; }
  int64_t image_size() const override { return 8; }
  at::Tensor Get(int64_t index, std::mt19937_64& rng) const override {
    at::Generator g = at::detail::createCPUGenerator(static_cast<uint64_t>(index));
    at::Tensor coeff = at::rand({3, 3}, g);
    at::Tensor y = at::linspace(0, 1, 8).reshape({1, 8, 1}), x = at::linspace(0, 1, 8).reshape({1, 1, 8});
    at::Tensor img = coeff.select(1, 0).reshape({3, 1, 1}) * y + coeff.select(1, 1).reshape({3, 1, 1}) * x +
                     coeff.select(1, 2).reshape({3, 1, 1}) * 0.2;
    if (rng() & 1) img = img.flip({2});
    return img.clamp(0, 1);
  }
};

TrainConfig TinyConfig() {
  TrainConfig c;
  c.model_class = kMaeTaskClass;
  c.mae.model.img_size = 8;
  c.mae.model.patch_size = 2;
  c.mae.model.embed_dim = 16;
  c.mae.model.depth = 1;
  c.mae.model.num_heads = 2;
  c.mae.model.decoder_embed_dim = 8;
  c.mae.model.decoder_depth = 1;
  c.mae.model.decoder_num_heads = 2;
  c.mae.lr = 1e-2;
  c.mae.warmup_steps = 2;
  c.trainer.max_steps = 8;
  c.trainer.accumulate_grad_batches = 2;
  c.trainer.gradient_clip_val = 1.0;
  c.trainer.log_every_n_steps = 2;
  c.trainer.enable_progress_bar = false;
  c.data.batch_size = 8;
  return c;
}

struct Loaders {
  DataLoader train, val;
  static DataLoaderOptions Train() {
    DataLoaderOptions o;
    o.batch_size = 8;
    o.num_workers = 0;
    o.seed = 3;
    return o;
  }
  static DataLoaderOptions Val() {
    DataLoaderOptions o = Train();
    o.shuffle = false;
    o.drop_last = false;
    return o;
  }
  Loaders() : train(std::make_shared<TinyImages>(), Train()), val(std::make_shared<TinyImages>(), Val()) {}
};

std::map<std::string, at::Tensor> Weights(MaeTask& task) {
  std::map<std::string, at::Tensor> w;
  for (const auto& p : task.mae()->named_parameters()) w[p.key()] = p.value().detach().clone();
  return w;
}

TEST(FitLoopTest, InterruptedAndResumedRunEqualsAnUninterruptedOne) {
  // 48 images / batch 8 = 6 micro-batches = 3 steps per epoch: 8 steps cross two epochs, and the
  // interruption at step 4 falls mid-epoch.
  const TrainConfig config = TinyConfig();
  TrainDevice cpu;

  at::manual_seed(11);
  MaeTask straight(config.mae);
  Loaders l1;
  const std::string dir1 = *CreateRunDirectory(test::TempDir(), "a");
  ASSERT_TRUE(Fit(config, straight, l1.train, l1.val, cpu, {dir1, "", -1}).ok());

  at::manual_seed(11);
  MaeTask first(config.mae);
  Loaders l2;
  const std::string dir2 = *CreateRunDirectory(test::TempDir(), "b");
  ASSERT_TRUE(Fit(config, first, l2.train, l2.val, cpu, {dir2, "", 4}).ok());
  at::manual_seed(999);  // the resumed process starts with a different RNG state
  MaeTask resumed(config.mae);
  Loaders l3;
  ASSERT_TRUE(Fit(config, resumed, l3.train, l3.val, cpu, {dir2, dir2 + "/checkpoints/last.pt", -1}).ok());

  auto want = Weights(straight), got = Weights(resumed);
  for (const auto& [name, w] : want)
    EXPECT_TRUE(at::allclose(got[name], w, 0, 1e-6)) << name << " differs by "
                                                     << (got[name] - w).abs().max().item<double>();
  // The first run's weights moved away from the resumed start (the test is not vacuous).
  auto start = Weights(first);
  EXPECT_FALSE(at::allclose(start["decoder_pred.weight"], want["decoder_pred.weight"]));
}

TEST(FitLoopTest, WritesMetricsCheckpointsAndPictures) {
  TrainConfig config = TinyConfig();
  config.trainer.max_steps = 6;
  at::manual_seed(1);
  MaeTask task(config.mae);
  Loaders l;
  const std::string dir = *CreateRunDirectory(test::TempDir(), "run");
  ASSERT_TRUE(Fit(config, task, l.train, l.val, TrainDevice{}, {dir, "", -1}).ok());
  for (const char* f : {"/metrics.csv", "/checkpoints/last.pt", "/checkpoints/best.pt"})
    EXPECT_TRUE(std::filesystem::exists(dir + f)) << f;
  std::ifstream csv(dir + "/metrics.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "step,epoch,lr,train_loss,val_loss,val_psnr,val_psnr_masked");
  int train_rows = 0, val_rows = 0;
  for (std::string line; std::getline(csv, line);) {
    std::stringstream s(line);
    std::vector<std::string> cells;
    for (std::string cell; std::getline(s, cell, ',');) cells.push_back(cell);
    if (cells.size() > 3 && !cells[3].empty()) ++train_rows;
    if (line.find(",,,,") == std::string::npos && cells.size() >= 6 && !cells[5].empty()) ++val_rows;
  }
  EXPECT_EQ(train_rows, 3);  // steps 2, 4, 6
  EXPECT_EQ(val_rows, 2);    // end of epochs 1 and 2
  // Training made the masked reconstruction better than at the start.
  MaeTask fresh(config.mae);
  auto before = fresh.Validate(l.val, at::kCPU, 0, "");
  auto after = ValidateCheckpoint(fresh, l.val, TrainDevice{}, dir + "/checkpoints/last.pt");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GT(after->at("val_psnr"), before.at("val_psnr"));
}

}  // namespace
}  // namespace mt
