// Chunked delivery of sender→receiver packets (mt.v1.Packet fields chunk_*): a packet larger
// than one gRPC message is serialized and cut into chunk messages the receiver's ChunkAssembler
// (core/codec/chunk_assembler) rebuilds. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/codec/chunk_assembler.h"
#include "mt/v1/transmission.pb.h"

namespace mt::server {

// Room each chunk message leaves for its fields besides `chunk` (id up to 255 bytes, four numbers).
inline constexpr int64_t kChunkOverheadBytes = 512;

// The chunk messages to write instead of `packet`, each at most max_message_bytes serialized;
// empty when `packet` fits one message (write it as it is: no copy). max_message_bytes must
// exceed kChunkOverheadBytes.
std::vector<v1::Packet> SplitIntoChunks(const v1::Packet& packet, int64_t max_message_bytes);

// Whether `message` is a chunk (else an ordinary packet).
inline bool IsChunk(const v1::Packet& message) { return message.chunk_count() != 0 || message.chunk_index() != 0; }

// The assembler's view of a chunk message (refers to `message`'s strings).
Chunk ChunkOf(const v1::Packet& message);

// The packet rebuilt from its chunks' bytes; INVALID_ARGUMENT when they do not parse, carry
// another id than their chunks (`id`), or are themselves a chunk.
absl::StatusOr<v1::Packet> ParseRebuiltPacket(const std::string& bytes, const std::string& id);

}  // namespace mt::server
