// Crash-safe file replacement, and whole-file reads. Thread-safe for distinct temp names (the temp name is unique per call).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mt {

enum class WriteMode {
  kReplace,    // an existing `path` is replaced
  kNoReplace,  // an existing `path` is left alone: ALREADY_EXISTS (decided atomically by the rename)
};

// Writes `bytes` to a temp file beside `path`, fsyncs it, renames it to `path` and fsyncs the
// folder, so `path` is either the old file (or absent) or the complete new one, and durable on
// return. Errors name the failing step, with a code from errno: RESOURCE_EXHAUSTED for a full disk
// or quota (ENOSPC, EDQUOT), FAILED_PRECONDITION for a folder that is missing, read-only or not
// writable, INTERNAL otherwise (a failed folder fsync included: the file may then not survive a
// crash).
absl::Status WriteFileAtomic(const std::string& path, std::string_view bytes, WriteMode mode = WriteMode::kReplace);

// The whole file. NOT_FOUND names it when it cannot be opened; INTERNAL when reading fails midway.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// errno `err` of a file operation → status with `what` and strerror(err); the codes as for
// WriteFileAtomic (ENOSPC/EDQUOT → RESOURCE_EXHAUSTED, …; EEXIST → ALREADY_EXISTS).
absl::Status FileErrorStatus(int err, std::string_view what);

// Deletes the temp files WriteFileAtomic leaves in `dir` when its process dies mid-write
// (".<name>.tmp.<pid>.<n>"); call at start-up, before any writer runs. Returns how many.
int RemoveStaleTempFiles(const std::string& dir);

}  // namespace mt
