#include "core/train/run_directory.h"

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mt {

namespace fs = std::filesystem;

absl::StatusOr<std::string> CreateRunDirectory(const std::string& root, const std::string& name) {
  std::error_code ec;
  const fs::path base = fs::path(root) / name;
  fs::create_directories(base, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create '", base.string(), "': ", ec.message()));
  for (int n = 0;; ++n) {
    const fs::path dir = base / absl::StrCat("version_", n);
    if (fs::create_directory(dir, ec)) {
      fs::create_directories(dir / "checkpoints", ec);
      fs::create_directories(dir / "viz", ec);
      if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot populate '", dir.string(), "'"));
      return dir.string();
    }
    if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create '", dir.string(), "': ", ec.message()));
  }
}

absl::Status WriteTextFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.good()) return absl::InternalError(absl::StrCat("cannot write '", tmp, "'"));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename to '", path, "': ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<MetricsCsv> MetricsCsv::Open(const std::string& path, std::vector<std::string> columns) {
  std::error_code ec;
  const bool exists = fs::exists(path, ec) && fs::file_size(path, ec) > 0;
  if (!exists) {
    std::ofstream out(path, std::ios::trunc);
    out << absl::StrJoin(columns, ",") << "\n";
    if (!out.good()) return absl::InternalError(absl::StrCat("cannot write '", path, "'"));
  }
  return MetricsCsv(path, std::move(columns));
}

absl::Status MetricsCsv::Append(const std::map<std::string, double>& row) {
  std::vector<std::string> cells;
  for (const std::string& c : columns_) {
    auto it = row.find(c);
    cells.push_back(it == row.end() ? "" : absl::StrCat(it->second));
  }
  std::ofstream out(path_, std::ios::app);
  out << absl::StrJoin(cells, ",") << "\n";
  if (!out.good()) return absl::InternalError(absl::StrCat("cannot append to '", path_, "'"));
  return absl::OkStatus();
}

}  // namespace mt
