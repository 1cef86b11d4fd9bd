#include "core/config/model_config.h"

#include <gtest/gtest.h>

namespace mt {
namespace {

TEST(ModelConfigTest, MaeOptionsRoundTrip) {
  MaskedAutoencoderOptions o;
  o.img_size = 96;
  o.patch_size = 6;
  o.embed_dim = 516;
  o.num_heads = 12;
  o.decoder_embed_dim = 256;
  o.decoder_depth = 8;
  o.decoder_num_heads = 8;
  o.mlp_ratio = 3.5;
  auto back = MaeOptionsFromYaml(ToYaml(o));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->img_size, 96);
  EXPECT_EQ(back->patch_size, 6);
  EXPECT_EQ(back->embed_dim, 516);
  EXPECT_EQ(back->decoder_embed_dim, 256);
  EXPECT_EQ(back->decoder_depth, 8);
  EXPECT_DOUBLE_EQ(back->mlp_ratio, 3.5);
  EXPECT_FALSE(back->norm_pix_loss);
}

TEST(ModelConfigTest, MaskerKindRoundTripsAndDefaultsApply) {
  MaskerOptions o;
  o.kind = MaskerKind::kCnn;
  o.cnn_channels = 48;
  auto back = MaskerOptionsFromYaml(ToYaml(o));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, MaskerKind::kCnn);
  EXPECT_EQ(back->cnn_channels, 48);
  auto defaults = MaskerOptionsFromYaml("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->embed_dim, 192);
  EXPECT_EQ(defaults->num_heads, 4);
}

TEST(ModelConfigTest, ErrorsNameTheKey) {
  auto unknown = MaeOptionsFromYaml("embed_dim: 192\nemb_dim: 64\n");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("emb_dim"), std::string::npos) << unknown.status();
  auto wrong_type = MaeOptionsFromYaml("depth: twelve\n");
  EXPECT_NE(wrong_type.status().message().find("depth"), std::string::npos) << wrong_type.status();
  auto bad_heads = MaeOptionsFromYaml("embed_dim: 192\nnum_heads: 5\n");
  EXPECT_NE(bad_heads.status().message().find("num_heads"), std::string::npos) << bad_heads.status();
  auto bad_grid = MaskerOptionsFromYaml("img_size: 30\npatch_size: 4\n");
  EXPECT_NE(bad_grid.status().message().find("patch_size"), std::string::npos) << bad_grid.status();
  auto bad_kind = MaskerOptionsFromYaml("kind: rnn\n");
  EXPECT_NE(bad_kind.status().message().find("kind"), std::string::npos) << bad_kind.status();
  EXPECT_EQ(MaeOptionsFromYaml("[1, 2").status().code(), absl::StatusCode::kInvalidArgument);
}

// The input normalisation of imported official MAEs: stored only when set, read back exactly,
// and a list of the wrong length or a non-positive std refused.
TEST(ModelConfigTest, InputNormalisationRoundTripsOnlyWhenSet) {
  MaskedAutoencoderOptions plain;
  EXPECT_EQ(ToYaml(plain).find("input_mean"), std::string::npos);
  MaskedAutoencoderOptions o;
  o.input_mean = kImageNetMean;
  o.input_std = kImageNetStd;
  absl::StatusOr<MaskedAutoencoderOptions> back = MaeOptionsFromYaml(ToYaml(o));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->input_mean, kImageNetMean);
  EXPECT_EQ(back->input_std, kImageNetStd);
  EXPECT_TRUE(back->normalizes_input());
  EXPECT_EQ(MaeOptionsFromYaml("input_mean: [0.5, 0.5]\ninput_std: [1, 1]").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MaeOptionsFromYaml("input_mean: [0.5, 0.5, 0.5]\ninput_std: [1, 0, 1]").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MaeOptionsFromYaml("input_mean: [0.5, 0.5, 0.5]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MaeOptionsFromYaml("input_mean: nope").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mt
