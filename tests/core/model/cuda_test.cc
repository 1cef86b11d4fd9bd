// GPU checks: skipped without CUDA (these build machines have none).
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include "core/data/data_loader.h"
#include "core/io/checkpoint.h"
#include "core/masking/gumbel_sigmoid.h"
#include "core/model/mae.h"
#include "core/model/masker.h"
#include "tests/test_util.h"

namespace mt {
namespace {

bool HasCuda() { return at::hasCUDA(); }

MaskedAutoencoderOptions Small() {
  MaskedAutoencoderOptions o;
  o.img_size = 16;
  o.embed_dim = 64;
  o.depth = 2;
  o.num_heads = 4;
  o.decoder_embed_dim = 32;
  o.decoder_depth = 1;
  o.decoder_num_heads = 2;
  return o;
}

TEST(CudaTest, MaeFullEncodeDecodeMatchesCpu_CUDA) {
  if (!HasCuda()) GTEST_SKIP() << "no CUDA device";
  at::manual_seed(1);
  MaskedAutoencoder mae(Small());
  mae->eval();
  at::Tensor images = at::rand({4, 3, 16, 16});
  auto run = [&](const at::Device& device) {
    torch::NoGradGuard g;
    mae->to(device);
    at::Tensor x = images.to(device);
    at::Tensor latent = mae->EmbedForDecoder(mae->EncodeFull(x));
    return mae->Decode(latent.narrow(1, 0, 1), latent.narrow(1, 1, 64)).cpu();
  };
  at::Tensor cpu = run(at::kCPU);
  at::Tensor gpu = run(at::Device(at::kCUDA));
  EXPECT_TRUE(at::allclose(cpu, gpu, 1e-3, 1e-4)) << (cpu - gpu).abs().max().item<double>();
}

TEST(CudaTest, PretrainingBackwardRunsOnGpu_CUDA) {
  if (!HasCuda()) GTEST_SKIP() << "no CUDA device";
  MaskedAutoencoder mae(Small());
  mae->to(at::Device(at::kCUDA));
  at::Tensor images = at::rand({8, 3, 16, 16}, at::Device(at::kCUDA));
  MaePretrainOutput out = mae->forward(images, 0.75);
  out.loss.backward();
  EXPECT_TRUE(mae->patch_embed->proj->weight.grad().defined());
  EXPECT_TRUE(out.loss.is_cuda());
}

TEST(CudaTest, GumbelHardSamplesFollowPOnGpu_CUDA) {
  if (!HasCuda()) GTEST_SKIP() << "no CUDA device";
  at::Tensor logits = at::full({200000}, std::log(0.3 / 0.7), at::Device(at::kCUDA));
  at::Tensor y = GumbelSigmoid(logits, {0.5, true, true});
  EXPECT_NEAR(y.mean().item<double>(), 0.3, 0.005);
}

TEST(CudaTest, CheckpointOfGpuModelLoadsOnCpu_CUDA) {
  if (!HasCuda()) GTEST_SKIP() << "no CUDA device";
  at::manual_seed(2);
  MaskedAutoencoder mae(Small());
  mae->to(at::Device(at::kCUDA));
  const std::string path = test::TempDir() + "/gpu_mae.pt";
  ASSERT_TRUE(SaveCheckpoint(path, mae).ok());
  absl::StatusOr<MaskedAutoencoder> loaded = LoadMae(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  at::Tensor w = (*loaded)->patch_embed->proj->weight;
  EXPECT_FALSE(w.is_cuda());
  EXPECT_TRUE(at::equal(w, mae->patch_embed->proj->weight.cpu()));
}

// A 4-image dataset whose pixels are all the image index / 255.
class IndexDataset final : public ImageDataset {
 public:
  int64_t size() const override { return 4; }
  int64_t image_size() const override { return 2; }
  at::Tensor Get(int64_t index, std::mt19937_64&) const override { return at::full({3, 2, 2}, index / 255.0); }
};

TEST(CudaTest, PinnedLoaderBatchesArePageLockedAndUnchanged_CUDA) {
  if (!HasCuda()) GTEST_SKIP() << "no CUDA device";
  DataLoaderOptions o;
  o.batch_size = 2;
  o.shuffle = false;
  o.num_workers = 2;
  o.pin_memory = true;
  DataLoader loader(std::make_shared<IndexDataset>(), o);
  loader.StartEpoch(0);
  at::Tensor b = loader.Next();
  EXPECT_TRUE(b.is_pinned());
  at::Tensor on_gpu = b.to(at::Device(at::kCUDA), /*non_blocking=*/true).cpu();
  EXPECT_NEAR(on_gpu[1].mean().item<double>(), 1 / 255.0, 1e-7);
  EXPECT_TRUE(loader.Next().is_pinned());
}

}  // namespace
}  // namespace mt
