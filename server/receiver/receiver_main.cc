// mt-receiver: reconstructs transmitted images with the MAE decoder and stores them.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "core/runtime/blas_core.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "core/io/checkpoint.h"
#include "core/runtime/cli_help.h"
#include "core/runtime/compute_precision.h"
#include "core/runtime/cpu_runtime.h"
#include "server/common/daemon.h"
#include "server/common/daemon_flags.h"
#include "server/common/flags_util.h"
#include "server/receiver/receiver_service.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50052", "address to serve on (host:port)");
ABSL_FLAG(std::string, output_dir, "received", "folder for <id>.png (created if missing)");
ABSL_FLAG(std::string, name, "",
          "this receiver's name in every acknowledgement, so the sender's reply says which receiver stored an image "
          "(default: the host name, e.g. the Kubernetes pod name)");
ABSL_FLAG(bool, overwrite, false, "replace an existing <id>.png (default: refuse the packet with ALREADY_EXISTS)");

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  mt::server::BlockShutdownSignals();
  mt::InstallCliHelp(
      "mt-receiver [flags]\n\nAccepts packets from mt-sender on one long-lived stream, reconstructs each image with "
      "the MAE decoder (payload 'latent': the codec of --codec_checkpoint), writes <output_dir>/<id>.png atomically "
      "and acknowledges once it is on disk.",
      "server/");
  absl::ParseCommandLine(argc, argv);
  spdlog::info("runtime: {}", mt::ConfigureCpuRuntime({absl::GetFlag(FLAGS_threads), true}));
  absl::StatusOr<mt::ComputePrecision> compute = mt::server::ComputeFromFlags();
  if (!compute.ok()) {
    spdlog::error("--compute: {}", std::string(compute.status().message()));
    return 1;
  }
  absl::StatusOr<std::string> mae_path = mt::server::MaeCheckpointFromFlags();
  if (!mae_path.ok()) {
    spdlog::error("{}", mae_path.status().ToString());
    return 1;
  }
  absl::StatusOr<mt::MaskedAutoencoder> mae = mt::LoadMae(*mae_path);
  if (!mae.ok()) {
    spdlog::error("{}", mae.status().ToString());
    return 1;
  }
  absl::StatusOr<mt::server::DaemonCodec> codec = mt::server::CodecFromFlags(*compute, mae->get()->options());
  if (!codec.ok()) {
    spdlog::error("--codec_checkpoint: {}", codec.status().ToString());
    return 1;
  }
  mt::server::ReceiverConfig config;
  config.output_dir = absl::GetFlag(FLAGS_output_dir);
  config.name = absl::GetFlag(FLAGS_name);
  if (config.name.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) config.name = host;
  }
  config.mae_checkpoint = *mae_path;
  config.codec_checkpoint = codec->checkpoint;
  config.max_pixels = absl::GetFlag(FLAGS_max_pixels);
  config.max_packet_bytes = absl::GetFlag(FLAGS_max_packet_bytes);
  config.max_request_gflop = absl::GetFlag(FLAGS_max_request_gflop);
  config.token = mt::server::FlagOrEnv(absl::GetFlag(FLAGS_token), "MT_TOKEN");
  config.overwrite = absl::GetFlag(FLAGS_overwrite);
  config.batching = mt::server::BatchingFromFlags(/*max_queued_weight=*/0);
  auto decoder = std::make_shared<mt::PacketDecoder>(*mae, config.max_pixels, *compute, codec->coder);
  absl::StatusOr<std::shared_ptr<mt::server::DaemonMetrics>> metrics = mt::server::MetricsFromFlags("receiver");
  if (!metrics.ok()) {
    spdlog::error("{}", metrics.status().ToString());
    return 1;
  }
  mt::server::ReceiverService service(decoder, config, *metrics);

  const mt::server::ServerOptions options = mt::server::ServerOptionsFromFlags(absl::GetFlag(FLAGS_listen));
  absl::StatusOr<mt::server::RunningServer> server = mt::server::StartServer(options, {&service});
  if (!server.ok()) {
    spdlog::error("{}", server.status().ToString());
    return 1;
  }
  spdlog::info("mt-receiver serving on port {} ({}{}), model {} ({}), writing to {}/", server->port,
               options.tls.cert.empty() ? "plaintext" : "TLS", config.token.empty() ? "" : ", token required",
               decoder->fingerprint(), config.mae_checkpoint, config.output_dir);
  const int sig = mt::server::WaitForShutdownSignal(*server->server, absl::GetFlag(FLAGS_grace_s));
  spdlog::info("signal {}: stopped accepting, in-flight packets finished; bye", sig);
  return 0;
}
