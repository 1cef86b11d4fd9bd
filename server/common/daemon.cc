#include "server/common/daemon.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/server_builder.h>
#include <signal.h>

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/codecs/tile_codec_registry.h"
#include "core/io/checkpoint.h"

namespace mt::server {

absl::StatusOr<RunningServer> StartServer(const ServerOptions& options, const std::vector<grpc::Service*>& services) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = MakeServerCredentials(options.tls);
  if (!creds.ok()) return creds.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  RunningServer out;
  builder.AddListeningPort(options.listen, *creds, &out.port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<int64_t>(options.max_message_bytes, INT32_MAX)));
  builder.SetMaxSendMessageSize(static_cast<int>(std::min<int64_t>(options.max_message_bytes, INT32_MAX)));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  // Accept the senders' keepalive pings (every kKeepaliveTimeMs, also between calls) instead of
  // answering them with GOAWAY "too_many_pings"; ping idle clients ourselves to drop dead peers.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, kKeepaliveTimeMs / 2);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  grpc::ResourceQuota quota("mt-daemon");
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  for (grpc::Service* s : services) builder.RegisterService(s);
  out.server = builder.BuildAndStart();
  if (!out.server || out.port == 0)
    return absl::UnavailableError(absl::StrCat("cannot listen on '", options.listen, "' (in use or bad address?)"));
  out.server->GetHealthCheckService()->SetServingStatus(true);
  return out;
}

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal(grpc::Server& server, double grace_s) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  server.GetHealthCheckService()->SetServingStatus(false);
  server.Shutdown(std::chrono::system_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(grace_s * 1000)));
  return sig;
}

absl::StatusOr<DaemonCodec> LoadDaemonCodec(const std::string& path, bool path_is_default, ComputePrecision compute,
                                            const MaskedAutoencoderOptions& mae) {
  if (path.empty()) return DaemonCodec{};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    if (path_is_default) return DaemonCodec{};
    return absl::NotFoundError(absl::StrCat("codec checkpoint '", path, "' does not exist or is not a file"));
  }
  absl::StatusOr<std::shared_ptr<const TileCodec>> coder = LoadTileCodec(path, compute);
  if (!coder.ok())
    return absl::Status(coder.status().code(),
                        absl::StrCat("codec checkpoint '", path, "': ", coder.status().message()));
  if (absl::Status s = (*coder)->CheckPairedWith(mae); !s.ok())
    return absl::Status(s.code(), absl::StrCat("codec checkpoint '", path, "': ", s.message()));
  return DaemonCodec{*std::move(coder), path};
}

}  // namespace mt::server
