#include "core/model/subpixel_up.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace mt {
namespace {

// LibTorch's own transposed convolution is the independent reference.
torch::nn::ConvTranspose2d Reference(int64_t in, int64_t out) {
  return torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(in, out, 5).stride(2).padding(2).output_padding(1));
}

// Both forward paths: few output channels (one 3×3 conv + pixel shuffle) and many (4 phase convs).
class SubpixelUpPathTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(SubpixelUpPathTest, MatchesTransposedConvolutionAndItsGradients) {
  const int64_t out = GetParam();
  torch::manual_seed(5);
  SubpixelUp up(SubpixelUpOptions{3, out});
  torch::nn::ConvTranspose2d ref = Reference(3, out);
  {
    torch::NoGradGuard no_grad;
    ref->weight.copy_(up->weight);
    ref->bias.copy_(up->bias);
  }
  for (const auto& shape : std::vector<std::vector<int64_t>>{{2, 3, 3, 5}, {1, 3, 1, 1}, {1, 3, 8, 6}}) {
    at::Tensor x = torch::randn(shape, torch::requires_grad());
    at::Tensor y = up->forward(x), y_ref = ref->forward(x);
    ASSERT_EQ(y.sizes(), y_ref.sizes());
    EXPECT_TRUE(torch::allclose(y, y_ref, 1e-5, 1e-5)) << (y - y_ref).abs().max();
    at::Tensor g = torch::randn_like(y);
    auto grads = torch::autograd::grad({y}, {x, up->weight, up->bias}, {g});
    auto grads_ref = torch::autograd::grad({y_ref}, {x, ref->weight, ref->bias}, {g});
    for (size_t i = 0; i < grads.size(); ++i)
      EXPECT_TRUE(torch::allclose(grads[i], grads_ref[i], 1e-4, 1e-5)) << "gradient " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(OutputChannels, SubpixelUpPathTest,
                         ::testing::Values(SubpixelUpImpl::kMinOutChannelsForPhaseConvs - 1,
                                           SubpixelUpImpl::kMinOutChannelsForPhaseConvs));

TEST(SubpixelUpTest, HandComputedPhases) {
  // One input pixel, one channel, weight w[ky][kx] = 10·ky + kx: the 2×2 output of a transposed
  // conv with padding 2 reads the kernel's centre taps: y[r_y][r_x] = w[2 + r_y][2 + r_x].
  SubpixelUp up(SubpixelUpOptions{1, 1});
  {
    torch::NoGradGuard no_grad;
    up->weight.copy_((10 * torch::arange(5).view({5, 1}) + torch::arange(5).view({1, 5})).view({1, 1, 5, 5}));
    up->bias.fill_(0.5);
  }
  at::Tensor y = up->forward(torch::ones({1, 1, 1, 1}));
  EXPECT_TRUE(torch::equal(y, torch::tensor({22.5f, 23.5f, 32.5f, 33.5f}).view({1, 1, 2, 2}))) << y;
}

TEST(SubpixelUpTest, LoadsTransposedConvolutionParametersByName) {
  SubpixelUp up(SubpixelUpOptions{2, 3});
  torch::nn::ConvTranspose2d ref = Reference(2, 3);
  auto mine = up->named_parameters(), theirs = ref->named_parameters();
  ASSERT_EQ(mine.size(), theirs.size());
  for (const auto& p : theirs) {
    ASSERT_TRUE(mine.contains(p.key())) << p.key();
    EXPECT_EQ(mine[p.key()].sizes(), p.value().sizes()) << p.key();
  }
}

TEST(SubpixelUpTest, InitialisedAsTransposedConvolution) {
  torch::manual_seed(11);
  SubpixelUp up(SubpixelUpOptions{4, 6});
  torch::manual_seed(11);
  torch::nn::ConvTranspose2d ref = Reference(4, 6);
  EXPECT_TRUE(torch::equal(up->weight, ref->weight));
  EXPECT_TRUE(torch::equal(up->bias, ref->bias));
}

}  // namespace
}  // namespace mt
