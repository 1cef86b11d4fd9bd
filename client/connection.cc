#include "client/connection.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>

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
  if (!c.tls_name.empty()) args.SetSslTargetNameOverride(c.tls_name);
  return grpc::CreateCustomChannel(c.target, *creds, args);
}

void Prepare(grpc::ClientContext* ctx, const Connection& c) {
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(c.deadline_s * 1000)));
  server::AttachToken(ctx, c.token);
}

}  // namespace mt::client
