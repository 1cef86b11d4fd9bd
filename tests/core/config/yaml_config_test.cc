#include "core/config/yaml_config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace mt {
namespace {

TEST(YamlConfigTest, LaterConfigsWinKeyByKeyAndOverridesWinLast) {
  auto a = YamlConfig::FromString("trainer: {max_epochs: 30, precision: bf16-mixed}\nmodel: {init_args: {lr: 1.0e-4}}\n");
  auto b = YamlConfig::FromString("trainer: {max_epochs: 5}\n");
  ASSERT_TRUE(a.ok() && b.ok());
  YamlConfig merged = *a;
  merged.Merge(*b);
  ASSERT_TRUE(merged.Override("model.init_args.lr", "3e-4").ok());
  ASSERT_TRUE(merged.Override("data.init_args.batch_size", "256").ok());  // creates missing mappings
  const YAML::Node& r = merged.root();
  EXPECT_EQ(r["trainer"]["max_epochs"].as<int>(), 5);
  EXPECT_EQ(r["trainer"]["precision"].as<std::string>(), "bf16-mixed");  // kept from the first
  EXPECT_DOUBLE_EQ(r["model"]["init_args"]["lr"].as<double>(), 3e-4);
  EXPECT_EQ(r["data"]["init_args"]["batch_size"].as<int>(), 256);
  // The first config is not modified by merging into a copy.
  EXPECT_EQ(a->root()["trainer"]["max_epochs"].as<int>(), 30);
  // Round trip through text.
  auto again = YamlConfig::FromString(merged.ToString());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->root()["data"]["init_args"]["batch_size"].as<int>(), 256);
}

TEST(YamlConfigTest, ErrorsAreStatuses) {
  EXPECT_EQ(YamlConfig::FromFile("/no/such/config.yaml").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(YamlConfig::FromString("a: [1, 2", "x.yaml").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(YamlConfig::FromString("- just\n- a list\n").status().code(), absl::StatusCode::kInvalidArgument);
  auto c = YamlConfig::FromString("trainer: 3\n");
  ASSERT_TRUE(c.ok());
  absl::Status s = c->Override("trainer.max_epochs", "2");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("trainer"), std::string::npos);
  EXPECT_FALSE(c->Override("a..b", "1").ok());
}

}  // namespace
}  // namespace mt
