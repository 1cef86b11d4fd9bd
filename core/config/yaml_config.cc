#include "core/config/yaml_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mt {
namespace {

// yaml-cpp nodes share storage on copy; merges must clone to stay independent.
void MergeInto(YAML::Node target, const YAML::Node& source) {
  for (const auto& kv : source) {
    const std::string key = kv.first.as<std::string>();
    if (kv.second.IsMap() && target[key] && target[key].IsMap()) {
      MergeInto(target[key], kv.second);
    } else {
      target[key] = YAML::Clone(kv.second);
    }
  }
}

}  // namespace

YamlConfig::YamlConfig() : root_(std::make_unique<YAML::Node>(YAML::NodeType::Map)) {}
YamlConfig::~YamlConfig() = default;
YamlConfig::YamlConfig(const YamlConfig& other) : root_(std::make_unique<YAML::Node>(YAML::Clone(*other.root_))) {}
YamlConfig& YamlConfig::operator=(const YamlConfig& other) {
  root_ = std::make_unique<YAML::Node>(YAML::Clone(*other.root_));
  return *this;
}

absl::StatusOr<YamlConfig> YamlConfig::FromString(std::string_view text, std::string_view source) {
  YamlConfig config;
  try {
    YAML::Node node = YAML::Load(std::string(text));
    if (node.IsNull()) return config;
    if (!node.IsMap())
      return absl::InvalidArgumentError(absl::StrCat(std::string(source), ": top level must be a mapping"));
    *config.root_ = node;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(source), ": malformed YAML: ", e.what()));
  }
  return config;
}

absl::StatusOr<YamlConfig> YamlConfig::FromFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return absl::NotFoundError(absl::StrCat("config file '", path, "' does not exist"));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return FromString(text.str(), path);
}

void YamlConfig::Merge(const YamlConfig& other) { MergeInto(*root_, *other.root_); }

absl::Status YamlConfig::Override(std::string_view dotted_path, std::string_view value) {
  std::vector<std::string> keys = absl::StrSplit(std::string(dotted_path), '.');
  for (const std::string& k : keys)
    if (k.empty()) return absl::InvalidArgumentError(absl::StrCat("bad override key '", std::string(dotted_path), "'"));
  YAML::Node parsed;
  try {
    parsed = YAML::Load(std::string(value));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("override ", std::string(dotted_path), "=", std::string(value), ": ", e.what()));
  }
  YAML::Node node = *root_;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node child = node[keys[i]];
    if (!child || child.IsNull()) {
      node[keys[i]] = YAML::Node(YAML::NodeType::Map);
      child = node[keys[i]];
    } else if (!child.IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat("override ", std::string(dotted_path), ": '", keys[i],
                                                     "' is not a mapping"));
    }
    node.reset(child);
  }
  node[keys.back()] = parsed;
  return absl::OkStatus();
}

std::string YamlConfig::ToString() const {
  YAML::Emitter out;
  out << *root_;
  return std::string(out.c_str()) + "\n";
}

const YAML::Node& YamlConfig::root() const { return *root_; }

}  // namespace mt
