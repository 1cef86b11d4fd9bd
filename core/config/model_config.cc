#include "core/config/model_config.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <set>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mt {
namespace {

// One option field: its YAML key and typed accessors on the options struct.
template <typename Options>
struct Field {
  std::string key;
  std::variant<int64_t Options::*, double Options::*, bool Options::*> member;
};

template <typename Options>
const std::vector<Field<Options>>& Fields();

template <>
const std::vector<Field<MaskedAutoencoderOptions>>& Fields() {
  using O = MaskedAutoencoderOptions;
  static const std::vector<Field<O>> kFields = {
      {"img_size", &O::img_size},           {"patch_size", &O::patch_size},
      {"in_chans", &O::in_chans},           {"embed_dim", &O::embed_dim},
      {"depth", &O::depth},                 {"num_heads", &O::num_heads},
      {"decoder_embed_dim", &O::decoder_embed_dim},
      {"decoder_depth", &O::decoder_depth}, {"decoder_num_heads", &O::decoder_num_heads},
      {"mlp_ratio", &O::mlp_ratio},         {"norm_pix_loss", &O::norm_pix_loss},
  };
  return kFields;
}

template <>
const std::vector<Field<MaskerOptions>>& Fields() {
  using O = MaskerOptions;
  static const std::vector<Field<O>> kFields = {
      {"img_size", &O::img_size},   {"patch_size", &O::patch_size}, {"in_chans", &O::in_chans},
      {"embed_dim", &O::embed_dim}, {"depth", &O::depth},           {"num_heads", &O::num_heads},
      {"mlp_ratio", &O::mlp_ratio}, {"cnn_channels", &O::cnn_channels},
      {"cnn_grid_blocks", &O::cnn_grid_blocks}, {"inhibition", &O::inhibition},
  };
  return kFields;
}

template <typename Options>
void EmitFields(YAML::Emitter& out, const Options& o) {
  for (const auto& f : Fields<Options>()) {
    out << YAML::Key << f.key << YAML::Value;
    std::visit([&](auto member) { out << o.*member; }, f.member);
  }
}

// Reads every key of `node` into `o`; `extra` handles keys outside the table.
template <typename Options>
absl::Status ParseFields(const YAML::Node& node, Options& o,
                         const std::function<absl::Status(const std::string&, const YAML::Node&)>& extra) {
  if (node.IsNull()) return absl::OkStatus();  // empty text: all defaults
  if (!node.IsMap()) return absl::InvalidArgumentError("model options must be a YAML mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const Field<Options>* field = nullptr;
    for (const auto& f : Fields<Options>())
      if (f.key == key) field = &f;
    if (field == nullptr) {
      absl::Status s = extra(key, kv.second);
      if (!s.ok()) return s;
      continue;
    }
    try {
      std::visit([&](auto member) {
        using T = std::remove_reference_t<decltype(o.*member)>;
        o.*member = kv.second.template as<T>();
      }, field->member);
    } catch (const YAML::Exception&) {
      return absl::InvalidArgumentError(absl::StrCat("option '", key, "' has the wrong type (value '",
                                                     kv.second.Scalar(), "')"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<YAML::Node> ParseYaml(std::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed YAML: ", e.what()));
  }
}

absl::Status UnknownKey(const std::string& key, const YAML::Node&) {
  return absl::InvalidArgumentError(absl::StrCat("unknown model option '", key, "'"));
}

absl::Status CheckPositive(const char* name, int64_t v) {
  if (v > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(name, " must be > 0, got ", v));
}

absl::Status CheckWidth(const char* name, int64_t width, const char* heads_name, int64_t heads,
                        bool needs_pos) {
  if (absl::Status s = CheckPositive(name, width); !s.ok()) return s;
  if (absl::Status s = CheckPositive(heads_name, heads); !s.ok()) return s;
  if (width % heads != 0)
    return absl::InvalidArgumentError(absl::StrCat(name, " (", width, ") must be divisible by ",
                                                   heads_name, " (", heads, ")"));
  if (needs_pos && width % 4 != 0)
    return absl::InvalidArgumentError(
        absl::StrCat(name, " (", width, ") must be divisible by 4 for the 2-D sin-cos embedding"));
  return absl::OkStatus();
}

absl::Status CheckGrid(int64_t img_size, int64_t patch_size) {
  if (absl::Status s = CheckPositive("img_size", img_size); !s.ok()) return s;
  if (absl::Status s = CheckPositive("patch_size", patch_size); !s.ok()) return s;
  if (img_size % patch_size != 0)
    return absl::InvalidArgumentError(absl::StrCat("img_size (", img_size,
                                                   ") must be a multiple of patch_size (", patch_size, ")"));
  return absl::OkStatus();
}

}  // namespace

bool IsMaeOptionKey(std::string_view key) {
  if (key == "input_mean" || key == "input_std") return true;
  for (const auto& f : Fields<MaskedAutoencoderOptions>())
    if (f.key == key) return true;
  return false;
}

bool IsMaskerOptionKey(std::string_view key) {
  if (key == "kind") return true;
  for (const auto& f : Fields<MaskerOptions>())
    if (f.key == key) return true;
  return false;
}

absl::Status Validate(const MaskedAutoencoderOptions& o) {
  for (absl::Status s : {CheckGrid(o.img_size, o.patch_size), CheckPositive("in_chans", o.in_chans),
                         CheckWidth("embed_dim", o.embed_dim, "num_heads", o.num_heads, true),
                         CheckWidth("decoder_embed_dim", o.decoder_embed_dim, "decoder_num_heads",
                                    o.decoder_num_heads, true),
                         CheckPositive("depth", o.depth), CheckPositive("decoder_depth", o.decoder_depth)})
    if (!s.ok()) return s;
  if (!(o.mlp_ratio > 0)) return absl::InvalidArgumentError("mlp_ratio must be > 0");
  const bool both_empty = o.input_mean.empty() && o.input_std.empty();
  if (!both_empty && (static_cast<int64_t>(o.input_mean.size()) != o.in_chans ||
                      static_cast<int64_t>(o.input_std.size()) != o.in_chans))
    return absl::InvalidArgumentError(absl::StrCat("input_mean and input_std need ", o.in_chans,
                                                   " values each (in_chans), or neither"));
  for (double s : o.input_std)
    if (!(s > 0)) return absl::InvalidArgumentError("input_std values must be > 0");
  return absl::OkStatus();
}

absl::Status Validate(const MaskerOptions& o) {
  for (absl::Status s : {CheckGrid(o.img_size, o.patch_size), CheckPositive("in_chans", o.in_chans)})
    if (!s.ok()) return s;
  if (o.kind == MaskerKind::kTransformer) {
    if (absl::Status s = CheckWidth("embed_dim", o.embed_dim, "num_heads", o.num_heads, true); !s.ok()) return s;
    if (absl::Status s = CheckPositive("depth", o.depth); !s.ok()) return s;
  } else {
    if (absl::Status s = CheckPositive("cnn_channels", o.cnn_channels); !s.ok()) return s;
    if (o.cnn_grid_blocks < 0) return absl::InvalidArgumentError("cnn_grid_blocks must be >= 0");
    if (!(o.inhibition >= 0)) return absl::InvalidArgumentError("inhibition must be >= 0");
  }
  if (!(o.mlp_ratio > 0)) return absl::InvalidArgumentError("mlp_ratio must be > 0");
  return absl::OkStatus();
}

std::string ToYaml(const MaskedAutoencoderOptions& o) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  EmitFields(out, o);
  if (o.normalizes_input())  // only then: our own checkpoints keep their YAML as before
    out << YAML::Key << "input_mean" << YAML::Value << YAML::Flow << o.input_mean << YAML::Key << "input_std"
        << YAML::Value << YAML::Flow << o.input_std;
  out << YAML::EndMap;
  return out.c_str();
}

std::string ToYaml(const MaskerOptions& o) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "kind" << YAML::Value << MaskerKindName(o.kind);
  EmitFields(out, o);
  out << YAML::EndMap;
  return out.c_str();
}

absl::StatusOr<MaskedAutoencoderOptions> MaeOptionsFromYaml(std::string_view yaml) {
  absl::StatusOr<YAML::Node> node = ParseYaml(yaml);
  if (!node.ok()) return node.status();
  MaskedAutoencoderOptions o;
  auto normalisation = [&o](const std::string& key, const YAML::Node& v) -> absl::Status {
    if (key != "input_mean" && key != "input_std") return UnknownKey(key, v);
    try {
      (key == "input_mean" ? o.input_mean : o.input_std) = v.as<std::vector<double>>();
    } catch (const YAML::Exception&) {
      return absl::InvalidArgumentError(absl::StrCat("option '", key, "' must be a list of numbers"));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = ParseFields(*node, o, normalisation); !s.ok()) return s;
  if (absl::Status s = Validate(o); !s.ok()) return s;
  return o;
}

absl::StatusOr<MaskerOptions> MaskerOptionsFromYaml(std::string_view yaml) {
  absl::StatusOr<YAML::Node> node = ParseYaml(yaml);
  if (!node.ok()) return node.status();
  MaskerOptions o;
  auto kind = [&o](const std::string& key, const YAML::Node& v) -> absl::Status {
    if (key != "kind") return UnknownKey(key, v);
    const std::string name = v.IsScalar() ? v.Scalar() : "";
    if (name == "transformer") o.kind = MaskerKind::kTransformer;
    else if (name == "cnn") o.kind = MaskerKind::kCnn;
    else return absl::InvalidArgumentError(absl::StrCat("option 'kind' must be 'transformer' or 'cnn', got '", name, "'"));
    return absl::OkStatus();
  };
  if (absl::Status s = ParseFields(*node, o, kind); !s.ok()) return s;
  if (absl::Status s = Validate(o); !s.ok()) return s;
  return o;
}

bool IsLatentCodecOptionKey(std::string_view key) {
  return key == "latent_channels" || key == "bottleneck_hidden" || key == "analysis_pixels" || key == "pixel_skip";
}

std::string ToYaml(const LatentCodecOptions& o) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "latent_channels" << YAML::Value << o.latent_channels
      << YAML::Key << "bottleneck_hidden" << YAML::Value << o.bottleneck_hidden << YAML::Key << "analysis_pixels"
      << YAML::Value << o.analysis_pixels << YAML::Key << "pixel_skip" << YAML::Value << o.pixel_skip
      << YAML::Key << "table_levels"
      << YAML::Value << o.table_levels << YAML::Key << "table_width" << YAML::Value << o.table_width
      << YAML::Key << "context_buckets" << YAML::Value << o.context_buckets << YAML::Key << "context_width"
      << YAML::Value << o.context_width << YAML::Key << "mae" << YAML::Value << YAML::Load(ToYaml(o.mae)) << YAML::EndMap;
  return out.c_str();
}

absl::StatusOr<LatentCodecOptions> LatentCodecOptionsFromYaml(std::string_view yaml) {
  absl::StatusOr<YAML::Node> node = ParseYaml(yaml);
  if (!node.ok()) return node.status();
  if (!node->IsMap()) return absl::InvalidArgumentError("codec options must be a YAML mapping");
  LatentCodecOptions o;
  for (const auto& kv : *node) {
    const std::string key = kv.first.as<std::string>();
    try {
      if (key == "latent_channels") o.latent_channels = kv.second.as<int64_t>();
      else if (key == "bottleneck_hidden") o.bottleneck_hidden = kv.second.as<int64_t>();
      else if (key == "analysis_pixels") o.analysis_pixels = kv.second.as<bool>();
      else if (key == "pixel_skip") o.pixel_skip = kv.second.as<bool>();
      else if (key == "table_levels") o.table_levels = kv.second.as<int64_t>();
      else if (key == "table_width") o.table_width = kv.second.as<int64_t>();
      else if (key == "context_buckets") o.context_buckets = kv.second.as<int64_t>();
      else if (key == "context_width") o.context_width = kv.second.as<int64_t>();
      else if (key == "mae") {
        absl::StatusOr<MaskedAutoencoderOptions> mae = MaeOptionsFromYaml(YAML::Dump(kv.second));
        if (!mae.ok()) return absl::InvalidArgumentError(absl::StrCat("in 'mae': ", mae.status().message()));
        o.mae = *mae;
      } else {
        return UnknownKey(key, kv.second);
      }
    } catch (const YAML::Exception&) {
      return absl::InvalidArgumentError(absl::StrCat("option '", key, "' has the wrong type"));
    }
  }
  for (absl::Status s : {CheckPositive("latent_channels", o.latent_channels),
                         CheckPositive("bottleneck_hidden", o.bottleneck_hidden)})
    if (!s.ok()) return s;
  if (o.table_levels < 0 || o.table_width < 0 || o.table_levels > 64 || o.table_width > 8192)
    return absl::InvalidArgumentError("table_levels must be in [0, 64] and table_width in [0, 8192]");
  if (o.context_buckets < 0 || o.context_buckets > 16 || o.context_width < 0 || o.context_width > 8192 ||
      (o.context_buckets > 0) != (o.context_width > 0))
    return absl::InvalidArgumentError(
        "context_buckets must be in [0, 16] and context_width in [0, 8192], both 0 or both set");
  return o;
}

}  // namespace mt
