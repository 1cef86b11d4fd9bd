#include "core/config/latent_mae_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mt {
namespace {

std::vector<std::pair<const char*, int64_t LatentMaeOptions::*>> IntFields() {
  return {{"latent_channels", &LatentMaeOptions::latent_channels}, {"dim", &LatentMaeOptions::dim},
          {"depth", &LatentMaeOptions::depth},                     {"num_heads", &LatentMaeOptions::num_heads},
          {"window", &LatentMaeOptions::window},                   {"levels", &LatentMaeOptions::levels}};
}

absl::Status Check(const LatentMaeOptions& o) {
  if (o.latent_channels < 1 || o.latent_channels > 1024) return absl::InvalidArgumentError("latent_channels must be in [1, 1024]");
  if (o.dim < 1 || o.dim > 2048) return absl::InvalidArgumentError("dim must be in [1, 2048]");
  if (o.depth < 0 || o.depth > 64) return absl::InvalidArgumentError("depth must be in [0, 64]");
  if (o.num_heads < 1 || o.dim % o.num_heads != 0)
    return absl::InvalidArgumentError(absl::StrCat("num_heads (", o.num_heads, ") must divide dim (", o.dim, ")"));
  if (o.window < 1 || o.window > 64) return absl::InvalidArgumentError("window must be in [1, 64]");
  if (!(o.mlp_ratio > 0 && o.mlp_ratio <= 16)) return absl::InvalidArgumentError("mlp_ratio must be in (0, 16]");
  if (o.levels < 1 || o.levels > 64) return absl::InvalidArgumentError("levels must be in [1, 64]");
  return absl::OkStatus();
}

}  // namespace

std::string ToYaml(const LatentMaeOptions& o) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const auto& [name, field] : IntFields()) out << YAML::Key << name << YAML::Value << o.*field;
  out << YAML::Key << "mlp_ratio" << YAML::Value << o.mlp_ratio;
  out << YAML::EndMap;
  return out.c_str();
}

bool IsLatentMaeOptionKey(std::string_view key) {
  const auto fields = IntFields();
  return key == "mlp_ratio" ||
         std::any_of(fields.begin(), fields.end(), [&](const auto& f) { return key == f.first; });
}

absl::StatusOr<LatentMaeOptions> LatentMaeOptionsFromYaml(std::string_view yaml) {
  YAML::Node node;
  try {
    node = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("latent MAE options are not YAML: ", e.what()));
  }
  LatentMaeOptions o;
  if (node.IsNull()) return o;
  if (!node.IsMap()) return absl::InvalidArgumentError("latent MAE options must be a YAML mapping");
  const auto fields = IntFields();
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    try {
      if (key == "mlp_ratio") {
        o.mlp_ratio = kv.second.as<double>();
        continue;
      }
      auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return key == f.first; });
      if (it == fields.end()) return absl::InvalidArgumentError(absl::StrCat("unknown latent MAE option '", key, "'"));
      o.*(it->second) = kv.second.as<int64_t>();
    } catch (const YAML::Exception&) {
      return absl::InvalidArgumentError(absl::StrCat("latent MAE option '", key, "' must be a number"));
    }
  }
  if (absl::Status s = Check(o); !s.ok()) return s;
  return o;
}

}  // namespace mt
