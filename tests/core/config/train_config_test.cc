#include "core/config/train_config.h"

#include <gtest/gtest.h>

namespace mt {
namespace {

absl::StatusOr<TrainConfig> ParseFile(const std::string& name) {
  auto c = YamlConfig::FromFile(std::string(MT_SOURCE_DIR) + "/configs/" + name);
  if (!c.ok()) return c.status();
  return ParseTrainConfig(*c);
}

absl::StatusOr<TrainConfig> ParseText(const std::string& text) {
  auto c = YamlConfig::FromString(text);
  if (!c.ok()) return c.status();
  return ParseTrainConfig(*c);
}

// A 10-step mt.ConvCodecTraining config on 64² synthetic images with these model init_args.
std::string ConvCodecConfigText(const std::string& init_args) {
  return "trainer: {max_steps: 10}\nmodel:\n  class_path: mt.ConvCodecTraining\n  init_args: {" + init_args +
         "}\ndata:\n  class_path: mt.data.Synthetic\n  init_args: {img_size: 64, batch_size: 2}\n";
}

// `base` with its first `from` replaced by `to`, parsed.
absl::StatusOr<TrainConfig> ParseEdited(std::string base, const std::string& from, const std::string& to) {
  const size_t at = base.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return ParseText(at == std::string::npos ? base : base.replace(at, from.size(), to));
}

// INVALID_ARGUMENT whose message names `word`.
void ExpectRefusedNaming(const absl::StatusOr<TrainConfig>& c, const std::string& word) {
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  EXPECT_NE(c.status().message().find(word), std::string::npos) << c.status();
}

TEST(TrainConfigTest, ShippedConfigsParseWithTheSeedValues) {
  auto mae = ParseFile("mae_config_cifar10.yaml");
  ASSERT_TRUE(mae.ok()) << mae.status();
  EXPECT_EQ(mae->model_class, kMaeTaskClass);
  EXPECT_EQ(mae->mae.model.depth, 12);
  EXPECT_EQ(mae->mae.model.decoder_depth, 4);
  EXPECT_EQ(mae->mae.model.patch_size, 2);
  EXPECT_EQ(mae->trainer.max_epochs, 2000);
  EXPECT_DOUBLE_EQ(mae->mae.warmup_epochs, 200);
  EXPECT_EQ(mae->data.batch_size, 4096);
  ASSERT_EQ(mae->warnings.size(), 1u);  // trainer.logger: wandb
  EXPECT_NE(mae->warnings[0].find("trainer.logger"), std::string::npos);

  auto masker = ParseFile("masker_config_cifar10.yaml");
  ASSERT_TRUE(masker.ok()) << masker.status();
  EXPECT_DOUBLE_EQ(masker->masker.mean_reg, 0.2);
  EXPECT_DOUBLE_EQ(masker->masker.entropy_reg, 1e-6);
  EXPECT_DOUBLE_EQ(masker->trainer.gradient_clip_val, 0.05);
  EXPECT_EQ(masker->masker.temperature.final_step, 2000);
  EXPECT_EQ(masker->masker.model.num_heads, 4);

  for (const char* f : {"mae_config_stl10.yaml", "masker_config_stl10.yaml", "mae_config_photos_cpu.yaml",
                        "masker_config_photos_cpu.yaml", "masker_config_photos_spread_cpu.yaml"}) {
    auto c = ParseFile(f);
    EXPECT_TRUE(c.ok()) << f << ": " << c.status();
  }
  auto spread = ParseFile("masker_config_photos_spread_cpu.yaml");
  ASSERT_TRUE(spread.ok()) << spread.status();
  EXPECT_DOUBLE_EQ(spread->masker.model.inhibition, 4.0);
  EXPECT_EQ(spread->masker.init_checkpoint, "weights/masker_gpu_base.pt");
  EXPECT_DOUBLE_EQ(masker->masker.adjacent_reg, 0.0);  // the seed's configs leave it off
}

constexpr char kBase[] =
    "trainer: {max_steps: 10}\n"
    "model: {class_path: mt.MaePretraining, init_args: {embed_dim: 64, num_heads: 4}}\n"
    "data: {class_path: mt.data.Cifar10, init_args: {data_dir: x}}\n";

TEST(TrainConfigTest, MisspeltAndWronglyTypedKeysNameTheKey) {
  ASSERT_TRUE(ParseText(kBase).ok()) << ParseText(kBase).status();
  auto typo = ParseText(std::string(kBase) + "seed_everyting: 3\n");
  EXPECT_EQ(typo.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(typo.status().message().find("seed_everyting"), std::string::npos) << typo.status();

  auto nested = ParseText(
      "trainer: {max_step: 10}\nmodel: {class_path: mt.MaePretraining}\ndata: {class_path: mt.data.Cifar10, "
      "init_args: {data_dir: x}}\n");
  EXPECT_NE(nested.status().message().find("trainer.max_step"), std::string::npos) << nested.status();

  auto type = ParseText(
      "trainer: {max_steps: ten}\nmodel: {class_path: mt.MaePretraining}\ndata: {class_path: mt.data.Cifar10, "
      "init_args: {data_dir: x}}\n");
  EXPECT_NE(type.status().message().find("trainer.max_steps"), std::string::npos) << type.status();

  auto model_typo = ParseText(
      "trainer: {max_steps: 1}\nmodel: {class_path: mt.MaePretraining, init_args: {mask_ration: 0.5}}\n"
      "data: {class_path: mt.data.Cifar10, init_args: {data_dir: x}}\n");
  EXPECT_NE(model_typo.status().message().find("mask_ration"), std::string::npos) << model_typo.status();

  auto bad_class = ParseText("trainer: {max_steps: 1}\nmodel: {class_path: MAE}\n");
  EXPECT_NE(bad_class.status().message().find("model.class_path"), std::string::npos) << bad_class.status();
}

TEST(TrainConfigTest, UnsupportedKeysWarnOncePerKey) {
  auto c = ParseText(std::string(kBase) + "trainer_extra: 1\n");
  EXPECT_FALSE(c.ok());
  auto warn = ParseText(
      "trainer: {max_steps: 10, logger: {class_path: WandbLogger}, callbacks: []}\n"
      "model: {class_path: mt.MaePretraining, init_args: {compile: true}}\n"
      "data: {class_path: mt.data.Cifar10, init_args: {data_dir: x}}\n");
  ASSERT_TRUE(warn.ok()) << warn.status();
  EXPECT_EQ(warn->warnings.size(), 3u);
}

absl::StatusOr<TrainConfig> WithTrainer(const std::string& trainer) {
  return ParseText("trainer: {max_steps: 10, " + trainer + "}\n"
                   "model: {class_path: mt.MaePretraining, init_args: {embed_dim: 64, num_heads: 4}}\n"
                   "data: {class_path: mt.data.Cifar10, init_args: {data_dir: x}}\n");
}

TEST(TrainConfigTest, DataParallelKeysAreReadAndChecked) {
  auto ddp = WithTrainer("devices: 2, num_nodes: 3, strategy: ddp");
  ASSERT_TRUE(ddp.ok()) << ddp.status();
  EXPECT_EQ(ddp->trainer.devices, 2);
  EXPECT_EQ(ddp->trainer.num_nodes, 3);
  EXPECT_EQ(ddp->trainer.strategy, "ddp");
  EXPECT_TRUE(ddp->warnings.empty());  // no longer "ignored"
  auto single = WithTrainer("devices: 2, strategy: single_device");
  EXPECT_EQ(single.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(single.status().message().find("trainer.strategy"), std::string::npos) << single.status();
  EXPECT_EQ(WithTrainer("devices: 0").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WithTrainer("num_nodes: 0").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WithTrainer("strategy: fsdp").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TrainConfigTest, Fp16MixedPrecisionIsRefusedNotSilentlyBf16) {
  for (const char* p : {"16-mixed", "16"}) {
    auto c = WithTrainer(std::string("precision: ") + p);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << p;
    EXPECT_NE(c.status().message().find("loss scaling"), std::string::npos) << c.status();
  }
  EXPECT_TRUE(WithTrainer("precision: bf16-mixed").ok());
}

TEST(TrainConfigTest, MaskerNeedsAnMaeCheckpoint) {
  auto c = ParseText(
      "trainer: {max_steps: 1}\nmodel: {class_path: mt.MaskerTraining}\n"
      "data: {class_path: mt.data.Cifar10, init_args: {data_dir: x}}\n");
  EXPECT_NE(c.status().message().find("mae_checkpoint"), std::string::npos) << c.status();
}

TEST(TrainConfigTest, ConvCodecConfigParsesAndChecksItsKeys) {
  auto shipped = ParseFile("conv_codec_corpus_cpu.yaml");
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  EXPECT_EQ(shipped->model_class, kConvCodecTaskClass);
  EXPECT_EQ(shipped->conv_codec.model.hidden_channels, 64);
  EXPECT_EQ(shipped->conv_codec.model.latent_channels, 96);
  EXPECT_EQ(shipped->conv_codec.model.levels, 8);
  EXPECT_DOUBLE_EQ(shipped->conv_codec.lambda_max, 0.0932);
  EXPECT_DOUBLE_EQ(shipped->conv_codec.lambda_min, 0.0018);
  EXPECT_EQ(shipped->data.img_size, 128);
  EXPECT_EQ(shipped->name, "conv_codec_corpus");
  const std::string base =
      ConvCodecConfigText("hidden_channels: 16, latent_channels: 8, levels: 2, lambda_max: 0.05, lambda_min: 0.01");
  auto ok = ParseText(base);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->conv_codec.model.levels, 2);
  EXPECT_EQ(ok->name, "conv_codec");
  ExpectRefusedNaming(ParseEdited(base, "img_size: 64", "img_size: 40"), "multiple of 16");
  ExpectRefusedNaming(ParseEdited(base, "lambda_min", "lamda_min"), "lamda_min");
  ExpectRefusedNaming(ParseEdited(base, "lambda_max: 0.05", "lambda_max: 0.001"), "lambda_min");
}

TEST(TrainConfigTest, CheckerboardConfigTrainsTheEntropyModelAndChecksItsKeys) {
  auto shipped = ParseFile("conv_codec_hyper_checkerboard_cpu.yaml");
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  EXPECT_EQ(shipped->conv_codec.model.checkerboard_channels, 128);
  EXPECT_EQ(shipped->conv_codec.model.hyper_channels, 64);
  EXPECT_EQ(shipped->conv_codec.trainable, "entropy");
  EXPECT_EQ(shipped->conv_codec.init_checkpoint, "weights/conv_hyper_codec.pt");
  const std::string base = ConvCodecConfigText(
      "hidden_channels: 16, latent_channels: 8, hyper_channels: 4, checkerboard_channels: 8, trainable: entropy");
  auto ok = ParseText(base);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->conv_codec.trainable, "entropy");
  auto all = ParseEdited(base, ", trainable: entropy", "");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->conv_codec.trainable, "all");
  ExpectRefusedNaming(ParseEdited(base, "trainable: entropy", "trainable: synthesis"), "synthesis");
  ExpectRefusedNaming(ParseEdited(base, "hyper_channels: 4, ", ""), "checkerboard_channels");
}

TEST(TrainConfigTest, FinerLevelsAndDefaultLevelAreCheckedAgainstTheLevels) {
  auto shipped = ParseFile("conv_codec_hyper_checkerboard_13level_cpu.yaml");
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  EXPECT_EQ(shipped->conv_codec.model.levels, 13);
  EXPECT_EQ(shipped->conv_codec.finer_levels, 3);
  // The init's default level 4 is level 7 once three finer levels come before it.
  EXPECT_EQ(shipped->conv_codec.model.default_level, 7);
  const std::string base =
      ConvCodecConfigText("levels: 4, finer_levels: 1, default_level: 2, init_checkpoint: w.pt, lambda_max: 0.05");
  auto ok = ParseText(base);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->conv_codec.finer_levels, 1);
  EXPECT_EQ(ok->conv_codec.model.default_level, 2);
  auto unset = ParseText(ConvCodecConfigText("levels: 4"));
  ASSERT_TRUE(unset.ok()) << unset.status();
  EXPECT_EQ(unset->conv_codec.finer_levels, 0);
  EXPECT_EQ(unset->conv_codec.model.default_level, -1);
  ExpectRefusedNaming(ParseEdited(base, "finer_levels: 1", "finer_levels: 4"), "finer_levels");
  ExpectRefusedNaming(ParseEdited(base, "finer_levels: 1", "finer_levels: -1"), "finer_levels");
  ExpectRefusedNaming(ParseEdited(base, ", init_checkpoint: w.pt", ""), "init_checkpoint");
  ExpectRefusedNaming(ParseEdited(base, "default_level: 2", "default_level: 4"), "default_level");
  ExpectRefusedNaming(ParseEdited(base, "default_level: 2", "default_level: -2"), "default_level");
}

TEST(TrainConfigTest, LatentMaeConfigParsesAndTakesItsShapeFromTheCodec) {
  auto shipped = ParseFile("latent_mae_cpu.yaml");
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  EXPECT_EQ(shipped->model_class, kLatentMaeTaskClass);
  EXPECT_EQ(shipped->latent_mae.codec_checkpoint, "weights/codec.pt");
  EXPECT_EQ(shipped->latent_mae.model.window, 8);
  EXPECT_DOUBLE_EQ(shipped->latent_mae.max_mask_ratio, 0.75);
  EXPECT_EQ(shipped->name, "latent_mae");
  const std::string base = R"(
trainer: {max_steps: 10}
model:
  class_path: mt.LatentMaePretraining
  init_args: {codec_checkpoint: c.pt, dim: 32, num_heads: 4, min_mask_ratio: 0.1, max_mask_ratio: 0.5}
data:
  class_path: mt.data.Synthetic
  init_args: {img_size: 64, batch_size: 2}
)";
  auto ok = ParseText(base);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->latent_mae.model.dim, 32);
  EXPECT_EQ(ok->name, "latent_mae");
  // The channels are the codec's: a config cannot set them.
  std::string channels = base;
  channels.replace(channels.find("dim: 32"), 7, "latent_channels: 32");
  auto refused = ParseText(channels);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("latent_channels"), std::string::npos) << refused.status();
  std::string heads = base;
  heads.replace(heads.find("num_heads: 4"), 12, "num_heads: 5");
  EXPECT_NE(ParseText(heads).status().message().find("num_heads"), std::string::npos);
  std::string no_codec = base;
  no_codec.replace(no_codec.find("codec_checkpoint: c.pt, "), 24, "");
  EXPECT_NE(ParseText(no_codec).status().message().find("codec_checkpoint"), std::string::npos);
  std::string inverted = base;
  inverted.replace(inverted.find("max_mask_ratio: 0.5"), 19, "max_mask_ratio: 0.05");
  EXPECT_EQ(ParseText(inverted).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mt
