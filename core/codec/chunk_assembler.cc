#include "core/codec/chunk_assembler.h"

#include "absl/strings/str_cat.h"

namespace mt {

void ChunkAssembler::Reset(bool skip_rest) {
  skipping_ = skip_rest;
  if (!skip_rest) id_.clear();
  buffer_.clear();
  buffer_.shrink_to_fit();  // a refused or finished packet's memory goes back at once
  next_ = 0;
}

ChunkOutcome ChunkAssembler::Add(const Chunk& c) {
  ChunkOutcome out;
  if (!id_.empty() && c.id != id_) {  // another packet began: the one in progress never completes
    if (!skipping_) {
      out.abandoned_id = id_;
      out.abandoned = absl::InvalidArgumentError(
          absl::StrCat("chunks ", next_, " to ", count_ - 1, " of ", count_, " never came (the next packet began)"));
    }
    Reset(false);
  }
  if (skipping_) {  // the rest of a refused packet
    if (c.index + 1 >= c.count) Reset(false);
    return out;
  }
  auto refuse = [&](absl::Status s) {
    id_ = std::string(c.id);
    Reset(/*skip_rest=*/c.index + 1 < c.count);
    out.status = std::move(s);
    return std::move(out);
  };
  if (id_.empty()) {  // a first chunk
    if (c.index != 0)
      return refuse(absl::InvalidArgumentError(absl::StrCat("chunk ", c.index, " of ", c.count, " came first")));
    if (c.count < 1 || c.total_bytes < 0 || c.total_bytes < c.count - 1)
      return refuse(absl::InvalidArgumentError(
          absl::StrCat("chunk count ", c.count, " and total ", c.total_bytes, " bytes do not describe a packet")));
    if (c.total_bytes > max_bytes_)
      return refuse(absl::ResourceExhaustedError(absl::StrCat("the packet declares ", c.total_bytes,
                                                              " bytes, over the receiver's limit of ", max_bytes_,
                                                              " (--max_packet_bytes)")));
    id_ = std::string(c.id);
    count_ = c.count;
    total_ = c.total_bytes;
    buffer_.reserve(static_cast<size_t>(total_));
  } else if (c.index != next_ || c.count != count_ || c.total_bytes != total_) {
    return refuse(absl::InvalidArgumentError(absl::StrCat("chunk ", c.index, " of ", c.count, " (", c.total_bytes,
                                                          " bytes) where chunk ", next_, " of ", count_, " (",
                                                          total_, " bytes) was due")));
  }
  if (static_cast<int64_t>(buffer_.size() + c.data.size()) > total_)
    return refuse(absl::InvalidArgumentError(
        absl::StrCat("chunk ", c.index, " overruns the declared ", total_, " bytes")));
  buffer_.append(c.data.data(), c.data.size());
  ++next_;
  if (next_ < count_) return out;
  if (static_cast<int64_t>(buffer_.size()) != total_)
    return refuse(absl::InvalidArgumentError(
        absl::StrCat("the chunks carry ", buffer_.size(), " of the declared ", total_, " bytes")));
  out.complete = std::move(buffer_);
  Reset(false);
  return out;
}

}  // namespace mt
