// GPU checks: skipped without CUDA (these build machines have none).
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include "core/masking/gumbel_sigmoid.h"
#include "core/model/mae.h"
#include "core/model/masker.h"

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

}  // namespace
}  // namespace mt
