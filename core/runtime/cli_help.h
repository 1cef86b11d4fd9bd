// --help for the frontends' binaries. Header-only so core links no flags library.
#pragma once

#include <string>

#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"

namespace mt {

// Folder of the flags every binary shares (the model paths, core/config/flags/model_path_flags.h).
inline constexpr char kSharedFlagsDir[] = "core/config/flags/";

// Sets the usage text and makes --help list the flags defined in files whose path contains
// `flags_dir` (e.g. "client/") or kSharedFlagsDir; by default absl would match on the binary name,
// which none of these files carry. A shared flag a binary does not link is not listed.
inline void InstallCliHelp(const char* usage, const char* flags_dir) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  const std::string dir = flags_dir;
  config.contains_help_flags = [dir](absl::string_view file) {
    return absl::StrContains(file, dir) || absl::StrContains(file, kSharedFlagsDir);
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  config.normalize_filename = [](absl::string_view f) { return std::string(f); };
  absl::SetFlagsUsageConfig(config);
}

}  // namespace mt
