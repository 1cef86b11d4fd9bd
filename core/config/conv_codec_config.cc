#include "core/config/conv_codec_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mt {
namespace {

std::vector<std::pair<const char*, int64_t ConvCodecOptions::*>> Fields() {
  return {{"hidden_channels", &ConvCodecOptions::hidden_channels}, {"latent_channels", &ConvCodecOptions::latent_channels},
          {"levels", &ConvCodecOptions::levels},                   {"tile_size", &ConvCodecOptions::tile_size},
          {"table_width", &ConvCodecOptions::table_width},         {"context_buckets", &ConvCodecOptions::context_buckets},
          {"context_width", &ConvCodecOptions::context_width},     {"table_entries", &ConvCodecOptions::table_entries},
          {"context_entries", &ConvCodecOptions::context_entries}, {"hyper_channels", &ConvCodecOptions::hyper_channels},
          {"hyper_scales", &ConvCodecOptions::hyper_scales},       {"hyper_side_entries", &ConvCodecOptions::hyper_side_entries},
          {"hyper_scale_entries", &ConvCodecOptions::hyper_scale_entries},
          {"checkerboard_channels", &ConvCodecOptions::checkerboard_channels},
          {"default_level", &ConvCodecOptions::default_level}};
}

}  // namespace

std::string ToYaml(const ConvCodecOptions& o) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  const ConvCodecOptions defaults;
  for (const auto& [name, field] : Fields()) {
    // Fields added after the first checkpoints are left out at their defaults, so those
    // checkpoints' options stay what they were (factorized prior, the built-in default level).
    const bool added_later = field == &ConvCodecOptions::hyper_channels || field == &ConvCodecOptions::hyper_scales ||
                             field == &ConvCodecOptions::hyper_side_entries ||
                             field == &ConvCodecOptions::hyper_scale_entries ||
                             field == &ConvCodecOptions::checkerboard_channels ||
                             field == &ConvCodecOptions::default_level;
    if (added_later && o.*field == defaults.*field) continue;
    out << YAML::Key << name << YAML::Value << o.*field;
  }
  out << YAML::EndMap;
  return out.c_str();
}

bool IsConvCodecOptionKey(std::string_view key) {
  return key == "hidden_channels" || key == "latent_channels" || key == "levels" || key == "tile_size" ||
         key == "hyper_channels" || key == "checkerboard_channels" || key == "default_level";
}

absl::StatusOr<ConvCodecOptions> ConvCodecOptionsFromYaml(std::string_view yaml) {
  YAML::Node node;
  try {
    node = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("conv codec options are not YAML: ", e.what()));
  }
  ConvCodecOptions o;
  if (node.IsNull()) return o;
  if (!node.IsMap()) return absl::InvalidArgumentError("conv codec options must be a YAML mapping");
  const auto fields = Fields();
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return key == f.first; });
    if (it == fields.end()) return absl::InvalidArgumentError(absl::StrCat("unknown conv codec option '", key, "'"));
    try {
      o.*(it->second) = kv.second.as<int64_t>();
    } catch (const YAML::Exception&) {
      return absl::InvalidArgumentError(absl::StrCat("option '", key, "' must be an integer"));
    }
  }
  if (o.hidden_channels < 1 || o.hidden_channels > 1024 || o.latent_channels < 1 || o.latent_channels > 1024)
    return absl::InvalidArgumentError("hidden_channels and latent_channels must be in [1, 1024]");
  if (o.levels < 1 || o.levels > 64) return absl::InvalidArgumentError("levels must be in [1, 64]");
  if (o.default_level < -1 || o.default_level >= o.levels)
    return absl::InvalidArgumentError(absl::StrCat("default_level must be -1 (built-in) or a level in [0, ", o.levels,
                                                   "), got ", o.default_level));
  if (o.hyper_channels < 0 || o.hyper_channels > 1024) return absl::InvalidArgumentError("hyper_channels must be in [0, 1024]");
  if (o.checkerboard_channels < 0 || o.checkerboard_channels > 1024 ||
      (o.checkerboard_channels > 0 && o.hyper_channels == 0))
    return absl::InvalidArgumentError("checkerboard_channels must be in [0, 1024], and > 0 only with hyper_channels");
  if (o.tile_size < kConvCodecDownsample || o.tile_size > 4096 || o.tile_size % kConvCodecDownsample != 0)
    return absl::InvalidArgumentError(absl::StrCat("tile_size must be a multiple of ", kConvCodecDownsample, " in [16, 4096]"));
  if (o.table_width < 0 || o.table_width > 8192 || o.context_buckets < 0 || o.context_buckets > 16 ||
      o.context_width < 0 || o.context_width > 8192 || (o.context_buckets > 0) != (o.context_width > 0))
    return absl::InvalidArgumentError("table_width, context_buckets or context_width out of range");
  // The cap keeps a crafted checkpoint from allocating more than 256 MB of table buffers.
  constexpr int64_t kMaxEntries = int64_t{1} << 26;
  if (o.table_entries < 0 || o.table_entries > kMaxEntries || (o.table_entries > 0 && o.table_width == 0) ||
      o.context_entries < 0 || o.context_entries > kMaxEntries || (o.context_entries > 0 && o.context_width == 0))
    return absl::InvalidArgumentError("table_entries or context_entries out of range (or set without their tables)");
  if (o.hyper_scales < 0 || o.hyper_scales > kMaxTableSymbols || o.hyper_scales == 1 || o.hyper_side_entries < 0 ||
      o.hyper_side_entries > kMaxEntries || o.hyper_scale_entries < 0 || o.hyper_scale_entries > kMaxEntries ||
      (o.hyper_scales > 0) != (o.hyper_channels > 0 && o.hyper_side_entries > 0 && o.hyper_scale_entries > 0))
    return absl::InvalidArgumentError("hyper_scales, hyper_side_entries or hyper_scale_entries out of range "
                                      "(or set without a hyperprior)");
  return o;
}

}  // namespace mt
