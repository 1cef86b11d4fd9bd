// Server lifecycle shared by mt-sender and mt-receiver: build (health service, reflection,
// message limits, TLS), run until SIGINT/SIGTERM, shut down gracefully; and the start-up step
// both take for the optional latent codec.
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/mae.h"
#include "core/codecs/tile_codec.h"
#include "core/runtime/compute_precision.h"
#include "server/common/security.h"

namespace mt::server {

// HTTP/2 keepalive on every hop: a ping after this long without traffic, and the connection is
// declared dead when its answer takes longer than the timeout. Why: a stalled peer (kill -STOP, a
// dead host) otherwise holds the shared sender→receiver stream, and any Write blocked on it, forever.
inline constexpr int kKeepaliveTimeMs = 10000;
inline constexpr int kKeepaliveTimeoutMs = 5000;

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

struct DaemonCodec {
  std::shared_ptr<const TileCodec> coder;  // null: payload 'latent' disabled
  std::string checkpoint;                    // the file it came from ("" when none)
};

// The latent codec at `path` for a daemon whose MAE is `mae`. No codec (coder null, not an
// error) when `path` is empty, or when `path_is_default` and no file is there. Otherwise
// NOT_FOUND for a missing file, the loader's status (naming the path) for one that does not
// load or has no coding tables, FAILED_PRECONDITION when its tile or patch size is not the MAE's.
absl::StatusOr<DaemonCodec> LoadDaemonCodec(const std::string& path, bool path_is_default, ComputePrecision compute,
                                            const MaskedAutoencoderOptions& mae);

}  // namespace mt::server
