// Crash-safe file replacement. Thread-safe for distinct temp names (the temp name is unique per call).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace mt {

// Writes `bytes` to a temp file beside `path`, fsyncs it, renames it over `path` and fsyncs the
// folder, so `path` is either the old file or the complete new one, and durable on return.
// INTERNAL names the failing step.
absl::Status WriteFileAtomic(const std::string& path, std::string_view bytes);

// Deletes the temp files WriteFileAtomic leaves in `dir` when its process dies mid-write
// (".<name>.tmp.<pid>.<n>"); call at start-up, before any writer runs. Returns how many.
int RemoveStaleTempFiles(const std::string& dir);

}  // namespace mt
