// Channels and per-call settings from a Connection (TLS, token, deadline). Thread-safe.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <string>

#include "client/commands.h"

namespace mt::client {

// A channel to c.target with c's TLS settings and no message size limits; null with *error set
// when a certificate file cannot be read.
std::shared_ptr<grpc::Channel> Connect(const Connection& c, std::string* error);

// Sets the call's deadline (c.deadline_s from now) and bearer token.
void Prepare(grpc::ClientContext* ctx, const Connection& c);

// Name of a gRPC status code ("UNAVAILABLE"); gRPC and absl share the numbering.
std::string StatusCodeName(int code);

}  // namespace mt::client
