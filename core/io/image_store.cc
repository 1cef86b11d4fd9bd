#include "core/io/image_store.h"

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/io/atomic_file.h"

namespace mt {
namespace {

constexpr char kKeyDir[] = ".content";

}  // namespace

absl::StatusOr<std::unique_ptr<ImageStore>> ImageStore::Open(const ImageStoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(options.dir) / kKeyDir, ec);
  if (ec) return absl::FailedPreconditionError(absl::StrCat("cannot create '", options.dir, "': ", ec.message()));
  std::unique_ptr<ImageStore> store(new ImageStore(options));
  store->removed_temp_files_ = RemoveStaleTempFiles(options.dir) +
                               RemoveStaleTempFiles((std::filesystem::path(options.dir) / kKeyDir).string());
  return store;
}

std::string ImageStore::PathOf(const std::string& id) const {
  return (std::filesystem::path(options_.dir) / (id + ".png")).string();
}

std::string ImageStore::KeyPathOf(const std::string& id) const {
  return (std::filesystem::path(options_.dir) / kKeyDir / id).string();
}

absl::StatusOr<ImageStore::Put> ImageStore::Store(const std::string& id, const std::string& content_key,
                                                  std::string_view png, bool want_stored_bytes) {
  if (content_key.empty()) return absl::InvalidArgumentError("an image needs a content key to be stored");
  Put out;
  out.path = PathOf(id);
  std::lock_guard<std::mutex> lock(mu_);
  std::error_code ec;
  if (!options_.overwrite && std::filesystem::exists(out.path, ec)) {
    absl::StatusOr<std::string> recorded = ReadFileToString(KeyPathOf(id));
    if (!recorded.ok() || *recorded != content_key)
      return absl::AlreadyExistsError(absl::StrCat("id '", id, "' is already stored at ", out.path, " with ",
                                                   recorded.ok() ? "other content" : "no content record",
                                                   "; use a new id (or start the receiver with --overwrite)"));
    out.already_stored = true;
    if (want_stored_bytes) {
      absl::StatusOr<std::string> stored = ReadFileToString(out.path);
      if (!stored.ok()) return stored.status();
      out.stored_png = *std::move(stored);
    }
    return out;
  }
  // The key first: a crash between the two writes leaves a key without an image, which the next
  // Store of that id replaces; never an image whose key is missing or another request's.
  if (absl::Status s = WriteFileAtomic(KeyPathOf(id), content_key); !s.ok()) return s;
  const WriteMode mode = options_.overwrite ? WriteMode::kReplace : WriteMode::kNoReplace;
  if (absl::Status s = WriteFileAtomic(out.path, png, mode); !s.ok()) return s;
  return out;
}

}  // namespace mt
