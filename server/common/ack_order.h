// The Deliver stream's ack-order convention. A sender that matches acks to packets by id sends
// "mt-ack-order: completion" with the stream; the receiver then writes each ack as soon as its
// packet is decoded and stored, so a small packet's ack never waits behind a big one's (the big
// one decodes on its own low-priority lane). Without it (older senders) acks keep packet order.
#pragma once

#include <grpcpp/server_context.h>

#include <string_view>

namespace mt::server {

inline constexpr std::string_view kAckOrderKey = "mt-ack-order";
inline constexpr std::string_view kAckOrderCompletion = "completion";

// True when the caller of a Deliver stream asked for acks in completion order.
inline bool AcksInCompletionOrder(const grpc::ServerContext& context) {
  const auto range = context.client_metadata().equal_range(grpc::string_ref(kAckOrderKey.data(), kAckOrderKey.size()));
  for (auto it = range.first; it != range.second; ++it)
    if (std::string_view(it->second.data(), it->second.size()) == kAckOrderCompletion) return true;
  return false;
}

}  // namespace mt::server
