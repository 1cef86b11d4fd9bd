// ChunkAssembler: rebuilds byte strings sent as ordered chunks (chunked delivery of packets larger
// than one gRPC message). One assembly at a time, as one stream carries them: a sender writes all
// chunks of a packet back to back. Memory is bounded by `max_bytes` (the declared total is checked
// on the first chunk, before anything is kept), and a refused packet's remaining chunks are
// skipped without buffering. Thread-safety: none; one instance per stream (its reader thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace mt {

// One chunk as it arrives: which packet, where it sits, and the declared whole.
struct Chunk {
  std::string_view id;
  int64_t index = 0;        // 0 … count-1, in order
  int64_t count = 0;        // chunks of the packet (>= 1)
  int64_t total_bytes = 0;  // bytes of the whole packet (every chunk declares the same)
  std::string_view data;
};

// What Add made of a chunk.
struct ChunkOutcome {
  absl::Status status;                  // this chunk's packet refused (reported once per packet)
  std::optional<std::string> complete;  // the whole packet, when this was its last chunk
  // A packet abandoned when another id's chunks began before it was complete: its id, and why.
  std::string abandoned_id;
  absl::Status abandoned;
};

class ChunkAssembler {
 public:
  explicit ChunkAssembler(int64_t max_bytes) : max_bytes_(max_bytes) {}

  // Takes the next chunk; `status` is RESOURCE_EXHAUSTED when the declared total exceeds max_bytes,
  // INVALID_ARGUMENT for a chunk out of order, with a count or total differing from its first
  // chunk's, or whose bytes overrun (or, last, fall short of) the total; the packet is then
  // dropped and its remaining chunks skipped silently (the error is reported once).
  ChunkOutcome Add(const Chunk& chunk);

  // Bytes held for the packet being assembled (for tests and metrics).
  int64_t buffered_bytes() const { return static_cast<int64_t>(buffer_.size()); }

 private:
  // Forgets the assembly in progress; a refused one's later chunks are skipped.
  void Reset(bool skip_rest);

  int64_t max_bytes_;
  std::string id_;  // packet in progress ("" = none)
  int64_t next_ = 0, count_ = 0, total_ = 0;
  bool skipping_ = false;  // id_'s chunks are being skipped after an error
  std::string buffer_;
};

}  // namespace mt
