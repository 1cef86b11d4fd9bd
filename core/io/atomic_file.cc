#include "core/io/atomic_file.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE (glibc >= 2.28)
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace mt {
namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return FileErrorStatus(errno, absl::StrCat(what, " '", path, "'"));
}

// rename() that fails with EEXIST instead of replacing: renameat2(RENAME_NOREPLACE) where the
// filesystem has it, else link() (also atomic, also refuses an existing name) and unlink().
int RenameNoReplace(const char* from, const char* to) {
#ifdef RENAME_NOREPLACE
  if (::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
#endif
  if (::link(from, to) != 0) return -1;
  ::unlink(from);
  return 0;
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read '", path, "'"));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat("cannot read '", path, "' to the end"));
  return s.str();
}

absl::Status FileErrorStatus(int err, std::string_view what) {
  const std::string text = absl::StrCat(std::string(what), ": ", std::strerror(err));
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(text);
    case ENOENT:
    case ENOTDIR:
    case EROFS:
    case EACCES:
    case EPERM:
      return absl::FailedPreconditionError(text);
    case EEXIST:
      return absl::AlreadyExistsError(text);
    default:
      return absl::InternalError(text);
  }
}

int RemoveStaleTempFiles(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 1 && name[0] == '.' && name.find(".tmp.") != std::string::npos && e.is_regular_file(ec))
      removed += std::filesystem::remove(e.path(), ec) ? 1 : 0;
  }
  return removed;
}

absl::Status WriteFileAtomic(const std::string& path, std::string_view bytes, WriteMode mode) {
  static std::atomic<uint64_t> counter{0};
  const std::filesystem::path target(path);
  const std::string tmp = (target.parent_path() / ("." + target.filename().string() + ".tmp." +
                                                   std::to_string(getpid()) + "." + std::to_string(counter++)))
                              .string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", tmp);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status s = Errno("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    absl::Status s = Errno("cannot flush", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  const int renamed = mode == WriteMode::kReplace ? ::rename(tmp.c_str(), path.c_str())
                                                 : RenameNoReplace(tmp.c_str(), path.c_str());
  if (renamed != 0) {
    absl::Status s = Errno("cannot rename to", path);
    ::unlink(tmp.c_str());
    return s;
  }
  const std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Errno("cannot open the folder to sync", dir);
  const bool synced = ::fsync(dfd) == 0;
  absl::Status s = synced ? absl::OkStatus() : Errno("cannot sync the folder", dir);
  ::close(dfd);
  return s;
}

}  // namespace mt
