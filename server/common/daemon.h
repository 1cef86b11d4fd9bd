// Server lifecycle shared by mt-sender and mt-receiver: build (health service, reflection,
// message limits, TLS), run until SIGINT/SIGTERM, shut down gracefully.
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/security.h"

namespace mt::server {

struct ServerOptions {
  std::string listen = "0.0.0.0:0";        // host:port; port 0 picks a free one
  int64_t max_message_bytes = 64 << 20;     // largest request accepted (RESOURCE_EXHAUSTED beyond)
  TlsFiles tls;                             // plaintext when tls.cert is empty
  int max_concurrent_streams = 64;          // calls in flight per client connection (more wait)
  int max_threads = 256;                    // handler threads; beyond, new calls get RESOURCE_EXHAUSTED
};

struct RunningServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;  // the bound port
};

// Starts a server with the standard grpc.health.v1 service (SERVING) and reflection.
// UNAVAILABLE when the address cannot be bound.
absl::StatusOr<RunningServer> StartServer(const ServerOptions& options, const std::vector<grpc::Service*>& services);

// Blocks SIGINT/SIGTERM in this thread and every thread it starts later; call first in main().
void BlockShutdownSignals();

// Waits for SIGINT/SIGTERM, then stops accepting, lets in-flight calls finish for up to
// `grace_s` seconds, cancels the rest. Returns the signal number.
int WaitForShutdownSignal(grpc::Server& server, double grace_s);

}  // namespace mt::server
