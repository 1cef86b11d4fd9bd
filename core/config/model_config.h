// Model options ↔ YAML text (what checkpoints store and configs' init_args hold).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/mae.h"
#include "core/model/latent_codec.h"
#include "core/model/masker.h"

namespace mt {

// Checks the options build a valid model (widths divisible by heads and by 4, p divides H…).
// INVALID_ARGUMENT names the field.
absl::Status Validate(const MaskedAutoencoderOptions& options);
absl::Status Validate(const MaskerOptions& options);

// A YAML mapping with one key per option field.
std::string ToYaml(const MaskedAutoencoderOptions& options);
std::string ToYaml(const MaskerOptions& options);
// Codec keys plus the inner MAE's options under `mae:`.
std::string ToYaml(const LatentCodecOptions& options);

// True if `key` names a field of the options (so a config can route it to the model).
bool IsMaeOptionKey(std::string_view key);
bool IsMaskerOptionKey(std::string_view key);
// latent_channels / bottleneck_hidden / analysis_pixels / pixel_skip (what a codec config may set).
bool IsLatentCodecOptionKey(std::string_view key);

// Parses a YAML mapping; absent keys keep their defaults; unknown keys, wrong types and
// invalid values are INVALID_ARGUMENT errors that name the key.
absl::StatusOr<MaskedAutoencoderOptions> MaeOptionsFromYaml(std::string_view yaml);
absl::StatusOr<MaskerOptions> MaskerOptionsFromYaml(std::string_view yaml);
absl::StatusOr<LatentCodecOptions> LatentCodecOptionsFromYaml(std::string_view yaml);

}  // namespace mt
