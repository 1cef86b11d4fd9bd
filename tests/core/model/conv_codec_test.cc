// GDN against the NumPy reference (tests/reference/make_reference.py), the conv codec's shapes,
// tables and checkpoint round trip, and per-channel integer pmfs.
#include "core/model/conv_codec.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <filesystem>

#include "core/io/checkpoint.h"
#include "core/model/gdn.h"
#include "tests/test_util.h"

namespace mt {
namespace {

Gdn ReferenceGdn(bool inverse) {
  GdnOptions o;
  o.channels = 3;
  o.inverse = inverse;
  Gdn gdn(o);
  gdn->to(at::kDouble);
  torch::NoGradGuard no_grad;
  gdn->beta_root.copy_(test::Ref("gdn_beta_root"));
  gdn->gamma_root.copy_(test::Ref("gdn_gamma_root"));
  return gdn;
}

TEST(GdnTest, ForwardAndInverseMatchTheNumpyReference) {
  const at::Tensor x = test::Ref("gdn_input");
  EXPECT_TRUE(at::allclose(ReferenceGdn(false)->forward(x), test::Ref("gdn_forward"), 1e-12, 1e-12));
  EXPECT_TRUE(at::allclose(ReferenceGdn(true)->forward(x), test::Ref("gdn_inverse"), 1e-12, 1e-12));
}

TEST(GdnTest, InferenceMatchesTheNumpyReferenceInEitherLayout) {
  // Without autograd a contiguous input takes the batched-GEMM path, a channels-last one the conv.
  torch::NoGradGuard no_grad;
  const at::Tensor x = test::Ref("gdn_input");
  ASSERT_TRUE(x.is_contiguous());
  for (const at::Tensor& input : {x, x.contiguous(at::MemoryFormat::ChannelsLast)}) {
    EXPECT_TRUE(at::allclose(ReferenceGdn(false)->forward(input), test::Ref("gdn_forward"), 1e-12, 1e-12));
    EXPECT_TRUE(at::allclose(ReferenceGdn(true)->forward(input), test::Ref("gdn_inverse"), 1e-12, 1e-12));
  }
}

TEST(GdnTest, StartsNearAScaledIdentityAndRefusesTheWrongWidth) {
  Gdn gdn(GdnOptions{4});
  // β = 1 + 1e-6, γ = 0.1·I + 1e-6 off the diagonal: a small x passes almost unchanged.
  const at::Tensor x = at::full({1, 4, 1, 1}, 0.01);
  EXPECT_NEAR(gdn->forward(x)[0][0][0][0].item<double>(), 0.01 / std::sqrt(1 + 1e-6 + 0.1e-4 + 3e-10), 1e-8);
  EXPECT_THROW(gdn->forward(at::zeros({1, 3, 2, 2})), c10::Error);
}

ConvCodecOptions Tiny() {
  ConvCodecOptions o;
  o.hidden_channels = 8;
  o.latent_channels = 6;
  o.levels = 3;
  o.tile_size = 64;
  return o;
}

TEST(ConvCodecTest, AnalysisDownsamplesBy16AndSynthesisRestoresTheSize) {
  at::manual_seed(3);
  ConvCodec codec(Tiny());
  const at::Tensor y = codec->Analyze(at::rand({2, 3, 64, 48}));
  EXPECT_EQ(y.sizes(), (at::IntArrayRef{2, 6, 4, 3}));
  EXPECT_EQ(codec->Synthesize(y).sizes(), (at::IntArrayRef{2, 3, 64, 48}));
  EXPECT_THROW(codec->Analyze(at::rand({1, 3, 40, 48})), c10::Error);  // 40 is not a multiple of 16
  EXPECT_EQ(codec->Steps().sizes(), (at::IntArrayRef{3, 6}));
}

TEST(ConvCodecTest, PerChannelPmfsEqualTheScalarOnesAtEqualSteps) {
  FactorizedPriorOptions po;
  po.channels = 3;
  FactorizedPrior prior(po);
  const std::vector<ChannelPmf> scalar = prior->IntegerPmfs(0.7), vector = prior->IntegerPmfs({0.7, 0.7, 0.7});
  ASSERT_EQ(scalar.size(), vector.size());
  for (size_t c = 0; c < scalar.size(); ++c) {
    EXPECT_EQ(scalar[c].offset, vector[c].offset);
    EXPECT_EQ(scalar[c].pmf, vector[c].pmf);
  }
  // A coarser step of one channel only widens that channel's bins: fewer symbols there.
  const std::vector<ChannelPmf> mixed = prior->IntegerPmfs({0.7, 2.8, 0.7});
  EXPECT_EQ(mixed[0].pmf, scalar[0].pmf);
  EXPECT_LT(mixed[1].pmf.size(), scalar[1].pmf.size());
}

TEST(ConvCodecTest, TablesAreBuiltPerLevelAndSurviveTheCheckpoint) {
  at::manual_seed(5);
  ConvCodec codec(Tiny());
  EXPECT_EQ(codec->tables->Tables().status().code(), absl::StatusCode::kFailedPrecondition);  // none yet
  {
    torch::NoGradGuard no_grad;
    codec->log_steps.copy_(at::log(at::tensor({0.5, 1.0, 2.0}).view({3, 1}).expand({3, 6})));
  }
  codec->BuildTables();
  absl::StatusOr<std::vector<LatentTables>> tables = codec->tables->Tables();
  ASSERT_TRUE(tables.ok()) << tables.status();
  ASSERT_EQ(tables->size(), 3u);
  EXPECT_EQ((*tables)[0].channels(), 6u);
  // Coarser levels have narrower tables (the same density, wider bins).
  EXPECT_GT((*tables)[0].tables[0][0].cdf.size(), (*tables)[2].tables[0][0].cdf.size());
  const std::string path = test::TempDir() + "/conv.pt";
  ASSERT_TRUE(SaveCheckpoint(path, codec).ok());
  absl::StatusOr<ConvCodec> back = LoadConvCodec(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)->options().table_width, codec->options().table_width);
  absl::StatusOr<std::vector<LatentTables>> again = (*back)->tables->Tables();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[1].tables[3][0].cdf, (*tables)[1].tables[3][0].cdf);
  const at::Tensor x = at::rand({1, 3, 32, 32});
  codec->eval();
  (*back)->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(at::allclose((*back)->Synthesize((*back)->Analyze(x)), codec->Synthesize(codec->Analyze(x))));
  EXPECT_EQ(LoadLatentCodec(path).status().code(), absl::StatusCode::kFailedPrecondition);  // another kind
}

// An older exported checkpoint holds its CDFs padded to the longest table: it still
// loads with the same tables, and Compact (mt-train export --context_data keep) rewrites it
// ragged, smaller, with the same tables after another save and load.
TEST(ConvCodecTest, PaddedTablesOfOlderCheckpointsLoadAndCompact) {
  at::manual_seed(6);
  ConvCodec codec(Tiny());
  codec->BuildTables();
  const std::vector<LatentTables> tables = *codec->tables->Tables();
  EXPECT_EQ(codec->options().table_entries, codec->tables->cdf_sizes.sum().item<int64_t>());
  std::vector<std::vector<FrequencyTable>> per_level;
  for (const LatentTables& level : tables) {
    per_level.emplace_back();
    for (const auto& channel : level.tables) per_level.back().push_back(channel[0]);
  }
  const PackedFactorizedTables padded = PackFactorizedTables(per_level, 6);
  ConvCodecOptions old_options = codec->options();
  old_options.table_entries = 0;
  old_options.table_width += 3;
  ConvCodec old(old_options);
  {  // the tables matter here, not the (random) transforms
    torch::NoGradGuard no_grad;
    // Three columns wider than its longest row, as a codec whose tables differ in length has
    // (the tiny codec's rows are all as long).
    old->tables->cdf_tables.set_(at::constant_pad_nd(padded.cdf, {0, 3}));
    old->tables->cdf_sizes.set_(padded.sizes.clone());
    old->tables->cdf_offsets.set_(padded.offsets.clone());
  }
  const std::string old_path = test::TempDir() + "/conv_padded.pt", new_path = test::TempDir() + "/conv_ragged.pt";
  ASSERT_TRUE(SaveCheckpoint(old_path, old).ok());
  absl::StatusOr<ConvCodec> loaded = LoadConvCodec(old_path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->tables->cdf_tables.dim(), 3);
  EXPECT_EQ((*loaded)->tables->Tables()->at(2).tables[5][0].cdf, tables[2].tables[5][0].cdf);
  (*loaded)->tables->Compact();
  EXPECT_EQ((*loaded)->tables->cdf_tables.dim(), 1);
  // Every row's own entries only: 3 fewer per row than the padded buffer held.
  EXPECT_EQ((*loaded)->tables->cdf_tables.numel(), padded.sizes.sum().item<int64_t>());
  EXPECT_EQ((*loaded)->tables->cdf_tables.numel(), padded.cdf.numel());
  ASSERT_TRUE(SaveCheckpoint(new_path, *loaded).ok());
  EXPECT_LT(std::filesystem::file_size(new_path), std::filesystem::file_size(old_path));
  absl::StatusOr<ConvCodec> again = LoadConvCodec(new_path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->options().table_entries, codec->options().table_entries);
  for (size_t s = 0; s < tables.size(); ++s)
    for (size_t c = 0; c < 6; ++c) EXPECT_EQ((*again)->tables->Tables()->at(s).tables[c][0].cdf, tables[s].tables[c][0].cdf);
}

}  // namespace
}  // namespace mt
