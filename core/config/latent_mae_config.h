// LatentMaeOptions ↔ YAML text (what latent MAE checkpoints store and configs' init_args hold).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/model/latent_mae.h"

namespace mt {

// A YAML mapping with one key per option field.
std::string ToYaml(const LatentMaeOptions& options);
// True for the option keys: latent_channels, dim, depth, num_heads, window, mlp_ratio, levels.
bool IsLatentMaeOptionKey(std::string_view key);
// Parses a mapping; absent keys keep their defaults; unknown keys, wrong types and invalid values
// (a width not divisible by the heads, sizes out of range) are INVALID_ARGUMENT naming the key.
absl::StatusOr<LatentMaeOptions> LatentMaeOptionsFromYaml(std::string_view yaml);

}  // namespace mt
