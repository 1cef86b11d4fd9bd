// The one place absl::Status, grpc::Status and the receiver's Ack.code meet. All three use the
// canonical google.rpc.Code numbers (DATA_LOSS = 15, ...), so codes map one to one.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "mt/v1/transmission.pb.h"

namespace mt::server {

// Same code and message; OK maps to OK.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// The number an Ack carries for `status` (0 for OK).
int ToAckCode(const absl::Status& status);
// An Ack's code and message → status; a code outside google.rpc.Code (a broken peer) is UNKNOWN
// and says so.
absl::Status FromAckCode(int code, absl::string_view message);

// A failure Ack for packet `id`: the status's code and message (a failure, so `status` is not OK).
v1::Ack AckFromStatus(const std::string& id, const absl::Status& status);
// An Ack → its status (FromAckCode of its code and message).
absl::Status StatusFromAck(const v1::Ack& ack);

}  // namespace mt::server
