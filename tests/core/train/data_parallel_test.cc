// Data-parallel training over real processes: this test binary re-runs itself as the ranks
// (the DISABLED_ worker below, which ctest never runs on its own), each with its own
// ProcessGroupGloo over a TCPStore on loopback.
#include "core/train/data_parallel.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/nn/modules/linear.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/masking/losses.h"
#include "core/train/fit_loop.h"
#include "core/train/lr_schedule.h"
#include "core/train/run_directory.h"
#include "tests/test_util.h"

extern char** environ;

namespace mt {
namespace {

constexpr int64_t kGlobalBatch = 8;  // one process: 8 per micro-batch; two: 4 each

// Smooth random 8×8 images, deterministic per index, randomly flipped by the loader's per-sample
// generator (so the test also checks that a rank augments a sample as one process would).
class TinyImages final : public ImageDataset {
 public:
  int64_t size() const override { return 48; }
  int64_t image_size() const override { return 8; }
  at::Tensor Get(int64_t index, std::mt19937_64& rng) const override {
    at::Generator g = at::detail::createCPUGenerator(static_cast<uint64_t>(index) + 100);
    at::Tensor img = at::rand({3, 1, 1}, g) * at::linspace(0, 1, 8).reshape({1, 8, 1}) +
                     at::rand({3, 1, 1}, g) * at::linspace(0, 1, 8).reshape({1, 1, 8});
    return (rng() & 1) ? img.flip({2}) : img;
  }
};

// MAE reconstruction with a fixed mask (the first half of the patches visible), so that the
// loss has no randomness: a rank's half-batch loss is exactly the mean over its images, and
// the mean of the ranks' gradients is the gradient of the one-process batch mean.
class FixedMaskTask final : public TrainingTask {
 public:
  FixedMaskTask() : mae_(test::TinyMaeOptions()) {}
  std::string kind() const override { return "mae"; }
  torch::nn::Module& module() override { return *mae_; }
  void SetTraining(bool training) override { mae_->train(training); }
  void To(const c10::Device& device) override { mae_->to(device); }
  at::Tensor Loss(const at::Tensor& x) {
    const int64_t b = x.size(0), l = mae_->options().num_patches();
    at::Tensor ids = at::arange(l / 2, at::kLong).expand({b, l / 2});
    at::Tensor mask = at::cat({at::zeros({b, l / 2}), at::ones({b, l - l / 2})}, 1);
    return mae_->ReconstructionLoss(x, mae_->DecodeVisible(x, ids), mask);  // mean over the batch
  }
  StepResult TrainStep(const at::Tensor& x, int64_t) override {
    at::Tensor loss = Loss(x);
    return {loss, {{"loss", loss.detach()}}};
  }
  std::map<std::string, double> Validate(DataLoader& loader, const c10::Device&, int64_t, const std::string&) override {
    torch::NoGradGuard no_grad;
    double sum = 0;
    int64_t n = 0;
    loader.StartEpoch(0);
    for (at::Tensor x = loader.Next(); x.defined(); x = loader.Next(), ++n) sum += Loss(x).item<double>();
    return {{"val_loss", sum / static_cast<double>(n)}};
  }
  // The lr scales with the effective batch, so a wrong DDP effective batch changes the result.
  AdamWConfig Optimizer(const ScheduleContext& ctx) const override {
    return {BatchScaledLr(0.0, 0.3, ctx.effective_batch), 0.05, 0.9, 0.95};
  }
  double LearningRate(int64_t step, const ScheduleContext& ctx) const override {
    return WarmupCosineLr(step, ctx.total_steps, 2, Optimizer(ctx).lr, 0.0);
  }
  std::vector<std::string> MetricColumns() const override { return {"train_loss", "val_loss"}; }
  std::string Monitor() const override { return "val_loss"; }
  bool MonitorHigherIsBetter() const override { return false; }
  absl::Status Save(const std::string& path, const ArchiveWriter& state) override {
    return SaveCheckpoint(path, mae_, WeightStorage::kFloat32, state);
  }

 private:
  MaskedAutoencoder mae_;
};

TrainConfig Config() {
  TrainConfig c;
  c.trainer.max_steps = 6;  // 48 images / 8 per micro-batch / 2 accumulated = 3 steps per epoch
  c.trainer.accumulate_grad_batches = 2;
  c.trainer.gradient_clip_val = 0.01;  // always active: clipping must see the averaged gradient
  c.trainer.log_every_n_steps = 1;
  c.trainer.enable_progress_bar = false;
  return c;
}

// One rank's (or the only process's) Fit; `group` null for one process.
absl::Status RunFit(DataParallelGroup* group, const std::string& run_dir, const std::string& ckpt, int64_t stop) {
  const int64_t world = group ? group->world_size() : 1;
  TrainConfig config = Config();
  config.data.batch_size = kGlobalBatch / world;
  DataLoaderOptions train_opts;
  train_opts.batch_size = config.data.batch_size;
  train_opts.num_workers = 0;
  train_opts.seed = 3;
  train_opts.rank = group ? group->rank() : 0;
  train_opts.world_size = world;
  DataLoaderOptions val_opts = train_opts;
  val_opts.shuffle = false;
  val_opts.rank = 0;
  val_opts.world_size = 1;
  DataLoader train(std::make_shared<TinyImages>(), train_opts), val(std::make_shared<TinyImages>(), val_opts);
  at::manual_seed(11 + (group ? group->rank() : 0));  // rank 1 initialises differently: the broadcast fixes it
  FixedMaskTask task;
  FitOptions fit{run_dir, ckpt, stop};
  fit.group = group;
  return Fit(config, task, train, val, TrainDevice{}, fit);
}

// A loopback port nobody listens on now (the kernel's pick).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

// Runs `world` ranks of the worker below as child processes; returns their exit statuses.
// `stop`: the step to stop at (-1: none), or "average" to check AverageGradients only.
std::vector<int> RunRanks(int world, const std::string& base_dir, const std::string& ckpt, const std::string& stop,
                          int port) {
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    std::vector<std::string> env = {absl::StrCat("WORLD_SIZE=", world), absl::StrCat("RANK=", r),
                                    "MASTER_ADDR=127.0.0.1", absl::StrCat("MASTER_PORT=", port),
                                    absl::StrCat("MT_TEST_RUN_DIR=", base_dir, "/rank", r),
                                    absl::StrCat("MT_TEST_CKPT=", ckpt), absl::StrCat("MT_TEST_STOP=", stop),
                                    "OMP_NUM_THREADS=1"};
    for (char** e = environ; *e; ++e)
      if (std::string(*e).rfind("OMP_NUM_THREADS=", 0) != 0) env.push_back(*e);
    std::vector<char*> envp;
    for (std::string& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string exe = "/proc/self/exe", filter = "--gtest_filter=DISABLED_DataParallelWorker.RunsOneRank",
                also = "--gtest_also_run_disabled_tests";
    char* argv[] = {exe.data(), filter.data(), also.data(), nullptr};
    pid_t pid = -1;
    EXPECT_EQ(posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, envp.data()), 0);
    pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return codes;
}

std::map<std::string, at::Tensor> CheckpointWeights(const std::string& path) {
  absl::StatusOr<MaskedAutoencoder> m = LoadMae(path);
  EXPECT_TRUE(m.ok()) << m.status();
  std::map<std::string, at::Tensor> w;
  if (m.ok())
    for (const auto& p : (*m)->named_parameters()) w[p.key()] = p.value().detach().clone();
  return w;
}

// The train_loss column of a metrics.csv, one value per logged step.
std::vector<double> TrainLosses(const std::string& csv_path) {
  std::ifstream csv(csv_path);
  std::vector<double> out;
  std::string line;
  std::getline(csv, line);  // step,epoch,lr,train_loss,val_loss
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    for (std::string cell; std::getline(s, cell, ',');) cells.push_back(cell);
    if (cells.size() > 3 && !cells[3].empty()) out.push_back(std::stod(cells[3]));
  }
  return out;
}

// Float rounding differs between one sum over 8 images and 4 + 4: measured differences after
// 6 steps are <= 6e-7, except in the attention qkv biases (1.1e-5): the key part of that bias
// has an analytically zero gradient (softmax ignores a per-query constant), so its gradient is
// pure rounding noise, which AdamW's per-weight normalisation turns into steps.
constexpr double kAtol = 1e-6;
constexpr double kQkvBiasAtol = 1e-4;

void ExpectSameWeights(const std::map<std::string, at::Tensor>& want, const std::map<std::string, at::Tensor>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (const auto& [name, w] : want) {
    const bool qkv_bias = name.find("attn.qkv.bias") != std::string::npos;
    EXPECT_TRUE(at::allclose(got.at(name), w, 0, qkv_bias ? kQkvBiasAtol : kAtol))
        << name << " differs by " << (got.at(name) - w).abs().max().item<double>();
  }
}

// Rank r's gradients are r + 1 everywhere, its flags {r, 1}: the average of the gradients is
// 1.5 on both ranks, the flags are summed.
void CheckAverageGradients(DataParallelGroup& group) {
  torch::nn::Linear linear(3, 2);
  for (at::Tensor& p : linear->parameters()) p.mutable_grad() = at::full_like(p, group.rank() + 1.0);
  std::vector<float> flags = {static_cast<float>(group.rank()), 1.f};
  ASSERT_TRUE(AverageGradients(group, *linear, &flags).ok());
  for (const at::Tensor& p : linear->parameters())
    EXPECT_TRUE(at::allclose(p.grad(), at::full_like(p, 1.5), 0, 1e-7)) << p.grad();
  EXPECT_EQ(flags, (std::vector<float>{1.f, 2.f}));
}

TEST(DISABLED_DataParallelWorker, RunsOneRank) {
  const char* dir = std::getenv("MT_TEST_RUN_DIR");
  if (dir == nullptr) GTEST_SKIP() << "run by DataParallelTest only";
  DataParallelOptions o;
  o.rank = std::atoi(std::getenv("RANK"));
  o.world_size = std::atoi(std::getenv("WORLD_SIZE"));
  o.master_port = std::atoi(std::getenv("MASTER_PORT"));
  o.rendezvous_timeout_s = 30;
  o.collective_timeout_s = 30;
  absl::StatusOr<std::unique_ptr<DataParallelGroup>> group = DataParallelGroup::Connect(o);
  ASSERT_TRUE(group.ok()) << group.status();
  if (std::string(std::getenv("MT_TEST_STOP")) == "average") return CheckAverageGradients(**group);
  // Rank 0 writes into dir (as mt-train's CreateRunDirectory makes it); the others get an empty one.
  std::filesystem::create_directories(o.rank == 0 ? std::string(dir) + "/checkpoints" : std::string(dir));
  absl::Status s = RunFit(group->get(), dir, std::getenv("MT_TEST_CKPT"), std::atoll(std::getenv("MT_TEST_STOP")));
  ASSERT_TRUE(s.ok()) << s;
}

class DataParallelTest : public ::testing::Test {
 protected:
  // The one-process reference: batch 8, 6 steps.
  static void SetUpTestSuite() {
    reference_dir_ = new std::string(test::TempDir());
    std::filesystem::create_directories(*reference_dir_ + "/checkpoints");
    absl::Status s = RunFit(nullptr, *reference_dir_, "", -1);
    ASSERT_TRUE(s.ok()) << s;
  }
  static void TearDownTestSuite() { delete reference_dir_; }
  static std::string* reference_dir_;
};
std::string* DataParallelTest::reference_dir_ = nullptr;

TEST_F(DataParallelTest, TwoProcessesWithHalfBatchesMatchOneProcess) {
  const std::string base = test::TempDir();
  EXPECT_EQ(RunRanks(2, base, "", "-1", FreePort()), (std::vector<int>{0, 0}));
  const auto want = CheckpointWeights(*reference_dir_ + "/checkpoints/last.pt");
  ExpectSameWeights(want, CheckpointWeights(base + "/rank0/checkpoints/last.pt"));
  // Training moved the weights (the comparison is not between two untouched initialisations).
  at::manual_seed(11);
  FixedMaskTask fresh;
  EXPECT_GT((fresh.module().named_parameters()["decoder_pred.weight"] - want.at("decoder_pred.weight")).abs().max().item<double>(), 1e-3);
  // The logged loss is the mean over both ranks, as the one process logs it.
  const std::vector<double> one = TrainLosses(*reference_dir_ + "/metrics.csv");
  const std::vector<double> two = TrainLosses(base + "/rank0/metrics.csv");
  ASSERT_EQ(one.size(), 6u);
  ASSERT_EQ(two.size(), one.size());
  for (size_t i = 0; i < one.size(); ++i) EXPECT_NEAR(two[i], one[i], 1e-5) << "step " << i + 1;
  // Only rank 0 writes files.
  EXPECT_TRUE(std::filesystem::is_empty(base + "/rank1"));
}

TEST(DataParallelGradientsTest, AreAveragedAcrossRanksAndFlagsSummed) {
  // AdamW and clipping hide a gradient's scale, so the Fit tests cannot see sum-vs-mean.
  EXPECT_EQ(RunRanks(2, test::TempDir(), "", "average", FreePort()), (std::vector<int>{0, 0}));
}

TEST_F(DataParallelTest, InterruptedAndResumedTwoProcessRunMatchesOneProcess) {
  const std::string base = test::TempDir();
  const int port = FreePort();
  // Stop at step 4 (mid-epoch 2), then both ranks resume from rank 0's last.pt.
  ASSERT_EQ(RunRanks(2, base, "", "4", port), (std::vector<int>{0, 0}));
  const std::string ckpt = base + "/rank0/checkpoints/last.pt";
  ASSERT_TRUE(std::filesystem::exists(ckpt));
  ASSERT_EQ(RunRanks(2, base, ckpt, "-1", port), (std::vector<int>{0, 0}));
  ExpectSameWeights(CheckpointWeights(*reference_dir_ + "/checkpoints/last.pt"), CheckpointWeights(ckpt));
  // A one-process run may not resume a two-process checkpoint (its data shards would differ).
  const std::string other = test::TempDir();
  std::filesystem::create_directories(other + "/checkpoints");
  absl::Status s = RunFit(nullptr, other, ckpt, -1);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
}

TEST(DataParallelRendezvousTest, UnreachableRankZeroFailsWithinTheTimeout) {
  DataParallelOptions o;
  o.rank = 1;
  o.world_size = 2;
  o.master_port = FreePort();  // nobody serves it
  o.rendezvous_timeout_s = 2;
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<DataParallelGroup>> g = DataParallelGroup::Connect(o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(g.status().message().find(absl::StrCat("rendezvous at 127.0.0.1:", o.master_port)), std::string::npos)
      << g.status();
  EXPECT_LT(secs, 15.0);
}

TEST(DataParallelRendezvousTest, RankZeroAloneFailsWithinTheTimeout) {
  DataParallelOptions o;
  o.rank = 0;
  o.world_size = 2;  // rank 1 never comes
  o.master_port = FreePort();
  o.rendezvous_timeout_s = 2;
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<DataParallelGroup>> g = DataParallelGroup::Connect(o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kUnavailable) << g.status();
  EXPECT_NE(g.status().message().find("only 1 of 2 ranks joined"), std::string::npos) << g.status();
  EXPECT_LT(secs, 15.0);
}

}  // namespace
}  // namespace mt
