// ConvCodecOptions ↔ YAML text (what conv codec checkpoints store and configs' init_args hold).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/model/conv_codec.h"

namespace mt {

// A YAML mapping with one key per option field.
std::string ToYaml(const ConvCodecOptions& options);
// True for the keys a training config may set: hidden_channels, latent_channels, levels, tile_size,
// hyper_channels, checkerboard_channels, default_level.
bool IsConvCodecOptionKey(std::string_view key);
// Parses a mapping; absent keys keep their defaults; unknown keys, wrong types and invalid values
// are INVALID_ARGUMENT naming the key.
absl::StatusOr<ConvCodecOptions> ConvCodecOptionsFromYaml(std::string_view yaml);

}  // namespace mt
