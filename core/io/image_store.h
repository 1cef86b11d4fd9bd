// Where a receiver keeps what it accepted, and its overwrite and idempotency policy, in one place:
// <dir>/<id>.png, plus <dir>/.content/<id> holding the content key of the request that stored it
// (the caller's digest of what it was sent, e.g. a SHA-256 of the packet).
//  * A new id is stored: key file first, then the PNG, each atomically; the PNG's rename refuses to
//    replace a file that appeared meanwhile.
//  * A stored id with the same key is an idempotent resend (a lost ack): kAlreadyStored, and the
//    stored bytes — which are what this caller sent — may be handed back.
//  * A stored id with another key (or none recorded: written by an older version) is refused with
//    ALREADY_EXISTS and nothing of the stored image in the reply, unless `overwrite` (then replaced).
// Thread-safety: thread-safe (one mutex around check-and-write). One process per folder.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mt {

struct ImageStoreOptions {
  std::string dir = "received";  // created if missing
  bool overwrite = false;        // replace a stored id whatever its key
};

class ImageStore {
 public:
  // Creates the folder and removes temp files an interrupted writer left there.
  // FAILED_PRECONDITION when the folder cannot be created.
  static absl::StatusOr<std::unique_ptr<ImageStore>> Open(const ImageStoreOptions& options);

  struct Put {
    std::string path;          // <dir>/<id>.png
    bool already_stored = false;  // an idempotent resend: nothing was written
    std::string stored_png;    // with already_stored and want_stored_bytes: the file's bytes
  };
  // Stores `png` under `id` by the policy above. INVALID_ARGUMENT for an empty key; ALREADY_EXISTS
  // for another request's id; write errors as WriteFileAtomic's (RESOURCE_EXHAUSTED on a full disk).
  absl::StatusOr<Put> Store(const std::string& id, const std::string& content_key, std::string_view png,
                            bool want_stored_bytes);

  // <dir>/<id>.png (stored or not).
  std::string PathOf(const std::string& id) const;
  // How many temp files Open removed.
  int removed_temp_files() const { return removed_temp_files_; }

 private:
  explicit ImageStore(ImageStoreOptions options) : options_(std::move(options)) {}
  std::string KeyPathOf(const std::string& id) const;

  ImageStoreOptions options_;
  int removed_temp_files_ = 0;
  std::mutex mu_;
};

}  // namespace mt
