#include "server/common/packet_chunks.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

namespace mt::server {

std::vector<v1::Packet> SplitIntoChunks(const v1::Packet& packet, int64_t max_message_bytes) {
  if (static_cast<int64_t>(packet.ByteSizeLong()) <= max_message_bytes) return {};
  const int64_t room = max_message_bytes - kChunkOverheadBytes;
  TORCH_CHECK(room > 0, "SplitIntoChunks: max_message_bytes ", max_message_bytes, " leaves no room for a chunk");
  const std::string whole = packet.SerializeAsString();
  const auto total = static_cast<int64_t>(whole.size());
  const int64_t count = (total + room - 1) / room;
  std::vector<v1::Packet> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    v1::Packet& c = out[static_cast<size_t>(i)];
    c.set_id(packet.id());
    c.set_chunk_index(static_cast<int32_t>(i));
    c.set_chunk_count(static_cast<int32_t>(count));
    c.set_chunk_total_bytes(total);
    c.set_chunk(whole.substr(static_cast<size_t>(i * room), static_cast<size_t>(std::min(room, total - i * room))));
  }
  return out;
}

Chunk ChunkOf(const v1::Packet& m) {
  return {m.id(), m.chunk_index(), m.chunk_count(), m.chunk_total_bytes(), m.chunk()};
}

absl::StatusOr<v1::Packet> ParseRebuiltPacket(const std::string& bytes, const std::string& id) {
  v1::Packet p;
  if (!p.ParseFromString(bytes))
    return absl::InvalidArgumentError(absl::StrCat("the chunks of '", id, "' do not rebuild a packet"));
  if (p.id() != id || IsChunk(p))
    return absl::InvalidArgumentError(absl::StrCat("the chunks of '", id, "' rebuild a packet for '", p.id(), "'",
                                                   IsChunk(p) ? " that is itself a chunk" : ""));
  return p;
}

}  // namespace mt::server
