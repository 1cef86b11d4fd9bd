// LightningCLI-style configuration: YAML files merged in order, then dotted-path
// overrides (`model.init_args.lr=3e-4`). Pure data; the schema lives in train_config.h.
// Thread-safety: value type, no shared state.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace YAML {
class Node;
}

namespace mt {

class YamlConfig {
 public:
  YamlConfig();
  ~YamlConfig();
  YamlConfig(const YamlConfig&);
  YamlConfig& operator=(const YamlConfig&);

  // Parses YAML text (a mapping) or fails with INVALID_ARGUMENT naming `source`.
  static absl::StatusOr<YamlConfig> FromString(std::string_view text, std::string_view source = "<string>");
  // NOT_FOUND when the file is missing; INVALID_ARGUMENT when malformed.
  static absl::StatusOr<YamlConfig> FromFile(const std::string& path);

  // Deep-merges `other` into this: mappings merge key by key, anything else replaces.
  void Merge(const YamlConfig& other);
  // Sets `dotted.path` to `value` parsed as a YAML scalar/flow value ("3e-4", "[1, 2]", "true").
  absl::Status Override(std::string_view dotted_path, std::string_view value);

  // The merged tree as YAML text (what --print_config shows and runs save).
  std::string ToString() const;
  const YAML::Node& root() const;

 private:
  std::unique_ptr<YAML::Node> root_;
};

}  // namespace mt
