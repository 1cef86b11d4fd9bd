// Lightning-style output layout: <root>/<name>/version_N/{config.yaml, metrics.csv,
// checkpoints/, viz/}, plus a CSV metrics writer. Thread-safety: single-threaded.
#pragma once

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mt {

// Creates <root>/<name>/version_N with the first unused N, and its checkpoints/ and viz/.
absl::StatusOr<std::string> CreateRunDirectory(const std::string& root, const std::string& name);

// Writes `text` to `path` atomically (temp + rename).
absl::Status WriteTextFile(const std::string& path, const std::string& text);

// Appends rows to a CSV with fixed columns; missing values are left empty. An existing file
// (a resumed run) is appended to without a second header.
class MetricsCsv {
 public:
  static absl::StatusOr<MetricsCsv> Open(const std::string& path, std::vector<std::string> columns);
  absl::Status Append(const std::map<std::string, double>& row);

 private:
  MetricsCsv(std::string path, std::vector<std::string> columns) : path_(std::move(path)), columns_(std::move(columns)) {}
  std::string path_;
  std::vector<std::string> columns_;
};

}  // namespace mt
