// The Deliver stream's negotiated conventions (metadata, so older peers keep working):
// - Ack order. A sender that matches acks to packets by id sends "mt-ack-order: completion"
//   with the stream; the receiver then writes each ack as soon as its packet is decoded and
//   stored, so a small packet's ack never waits behind a big one's (the big one decodes on its
//   own low-priority lane). Without it (older senders) acks keep packet order.
// - Cancels. A receiver that honours mt.v1.Packet.cancel sends "mt-accepts-cancel: 1" in the
//   stream's initial metadata, at once; a sender writes cancels only on such streams (an older
//   receiver would answer one as a malformed packet, with an ack the sender does not expect).
#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

#include <string_view>

namespace mt::server {

inline constexpr std::string_view kAckOrderKey = "mt-ack-order";
inline constexpr std::string_view kAckOrderCompletion = "completion";
inline constexpr std::string_view kAcceptsCancelKey = "mt-accepts-cancel";
inline constexpr std::string_view kAcceptsCancelYes = "1";

// True when the caller of a Deliver stream asked for acks in completion order.
inline bool AcksInCompletionOrder(const grpc::ServerContext& context) {
  const auto range = context.client_metadata().equal_range(grpc::string_ref(kAckOrderKey.data(), kAckOrderKey.size()));
  for (auto it = range.first; it != range.second; ++it)
    if (std::string_view(it->second.data(), it->second.size()) == kAckOrderCompletion) return true;
  return false;
}

// True when the receiver's initial metadata (call after it has arrived) says it honours cancels.
inline bool ReceiverAcceptsCancel(const grpc::ClientContext& context) {
  const auto range =
      context.GetServerInitialMetadata().equal_range(grpc::string_ref(kAcceptsCancelKey.data(), kAcceptsCancelKey.size()));
  for (auto it = range.first; it != range.second; ++it)
    if (std::string_view(it->second.data(), it->second.size()) == kAcceptsCancelYes) return true;
  return false;
}

}  // namespace mt::server
