#include "server/common/status_convert.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace mt::server {
namespace {

constexpr int kLastCanonicalCode = static_cast<int>(absl::StatusCode::kUnauthenticated);  // 16

}  // namespace

// Both enums use the canonical google.rpc.Code numbers.
grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return FromAckCode(static_cast<int>(status.error_code()), status.error_message());
}

int ToAckCode(const absl::Status& status) { return static_cast<int>(status.code()); }

absl::Status FromAckCode(int code, absl::string_view message) {
  if (code == 0) return absl::OkStatus();
  if (code < 0 || code > kLastCanonicalCode)
    return absl::UnknownError(absl::StrCat("status code ", code, " (not a google.rpc.Code): ", message));
  return absl::Status(static_cast<absl::StatusCode>(code), message);
}

v1::Ack AckFromStatus(const std::string& id, const absl::Status& status) {
  v1::Ack ack;
  ack.set_id(id);
  ack.set_code(ToAckCode(status));
  ack.set_message(std::string(status.message()));
  return ack;
}

absl::Status StatusFromAck(const v1::Ack& ack) { return FromAckCode(ack.code(), ack.message()); }

}  // namespace mt::server
