#include "client/connection.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>

#include "absl/status/status.h"
#include "server/common/security.h"

namespace mt::client {

std::shared_ptr<grpc::Channel> Connect(const Connection& c, std::string* error) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
      server::MakeChannelCredentials({c.tls, c.ca, c.cert, c.key, c.tls_name});
  if (!creds.ok()) {
    *error = creds.status().ToString();
    return nullptr;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // A restarted daemon is found within a second (gRPC's default backoff grows to minutes).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);  // else one refused attempt waits 20 s
  if (!c.tls_name.empty()) args.SetSslTargetNameOverride(c.tls_name);
  return grpc::CreateCustomChannel(c.target, *creds, args);
}

void Prepare(grpc::ClientContext* ctx, const Connection& c) {
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(c.deadline_s * 1000)));
  server::AttachToken(ctx, c.token);
}

std::string StatusCodeName(int code) { return absl::StatusCodeToString(static_cast<absl::StatusCode>(code)); }

}  // namespace mt::client
