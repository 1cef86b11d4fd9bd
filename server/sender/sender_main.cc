// mt-sender: scores patches, keeps the important ones, streams them to mt-receiver.
#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/runtime/blas_core.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "core/codec/packet.h"
#include "core/config/flags/model_path_flags.h"
#include "core/io/checkpoint.h"
#include "core/masking/patch_selector.h"
#include "core/runtime/cli_help.h"
#include "core/runtime/compute_precision.h"
#include "core/runtime/cpu_runtime.h"
#include "server/common/daemon.h"
#include "server/common/daemon_flags.h"
#include "server/common/flags_util.h"
#include "server/common/packet_chunks.h"
#include "server/sender/sender_service.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051", "address to serve clients on (host:port)");
ABSL_FLAG(std::string, receiver, "localhost:50052",
          "mt-receiver address(es), comma-separated; each a gRPC target (host:port) or a DNS name that stands for "
          "every address it resolves to (dns:///receivers:50052: a Kubernetes headless Service, compose --scale). "
          "Packets are spread over the healthy receivers; one that fails is skipped and its packets go to another");
ABSL_FLAG(double, receiver_resolve_s, 5.0, "how often dns: names in --receiver are looked up again (seconds)");
ABSL_FLAG(int64_t, max_queued_tiles, 1 << 15,
          "tiles waiting for the encoder beyond which a request is refused with RESOURCE_EXHAUSTED (0 = no bound; "
          "the default is two --max_pixels images of 32x32 tiles, ~400 MB of decoded pixels)");
ABSL_FLAG(int64_t, max_inflight_pixels, 24 << 20,
          "pixels of all requests between their header check and their reply (decoded images, tiles, the "
          "reconstruction) beyond which a request is refused with RESOURCE_EXHAUSTED before it is decoded; one request "
          "alone is always admitted (0 = no bound; 24 Mi: one --max_pixels image and small ones, ~1 GiB RSS)");
ABSL_FLAG(double, keep_ratio, mt::kDefaultKeepRatio, "keep ratio when a request names no selection");
ABSL_FLAG(std::string, payload, "auto",
          "payload when a request names none (PAYLOAD_KIND_UNSPECIFIED): auto (latent with a codec loaded, else "
          "pixels: the fewest bytes at equal quality), latent, pixels, features or features+pixels");
ABSL_FLAG(int64_t, receiver_max_message_bytes, 64 << 20,
          "the receiver's --max_message_bytes: a larger packet travels in chunks of at most this size (up to "
          "--max_packet_bytes), never as one message the receiver would refuse, ending the shared stream");
ABSL_FLAG(std::string, receiver_token, "",
          "bearer token the sender presents to the receiver (default: $MT_RECEIVER_TOKEN). Never the clients' "
          "--token: each hop has its own credential, so a client holding the sender's token cannot call the "
          "receiver's Deliver");
ABSL_FLAG(bool, receiver_tls, false, "connect to the receiver over TLS");
ABSL_FLAG(std::string, receiver_ca, "", "PEM CA to trust for the receiver (empty: system roots)");
ABSL_FLAG(std::string, receiver_cert, "", "PEM client certificate for the receiver (mTLS)");
ABSL_FLAG(std::string, receiver_key, "", "PEM private key for --receiver_cert");
ABSL_FLAG(std::string, receiver_tls_name, "", "name to check in the receiver's certificate (default: its host)");

namespace {

constexpr char kUsage[] =
    "mt-sender [flags]\n\nAccepts images from mt-client, keeps the patches the masker scores as important, "
    "encodes them with the MAE encoder (or, for payload 'latent', the codec of --codec_checkpoint) and streams only "
    "those to mt-receiver over one long-lived stream per receiver (several receivers: packets spread over them).";

// What mt-sender runs: the models and the arithmetic they run in.
struct SenderModels {
  mt::ComputePrecision compute = mt::ComputePrecision::kFloat32;
  std::string mae_checkpoint, masker_checkpoint;  // the paths they came from
  mt::MaskedAutoencoder mae{nullptr};
  mt::Masker masker{nullptr};
  mt::server::DaemonCodec codec;
};

// --compute, --mae_checkpoint (or its deprecated --checkpoint), --masker_checkpoint and
// --codec_checkpoint, loaded; std::nullopt (after logging why) when one fails or the masker and the
// MAE disagree on image or patch size.
std::optional<SenderModels> LoadModelsFromFlags() {
  SenderModels m;
  absl::StatusOr<mt::ComputePrecision> compute = mt::server::ComputeFromFlags();
  if (!compute.ok()) {
    spdlog::error("--compute: {}", std::string(compute.status().message()));
    return std::nullopt;
  }
  m.compute = *compute;
  absl::StatusOr<std::string> mae_path = mt::server::MaeCheckpointFromFlags();
  if (!mae_path.ok()) {
    spdlog::error("{}", mae_path.status().ToString());
    return std::nullopt;
  }
  m.mae_checkpoint = *mae_path;
  absl::StatusOr<mt::MaskedAutoencoder> mae = mt::LoadMae(m.mae_checkpoint);
  if (!mae.ok()) {
    spdlog::error("{}", mae.status().ToString());
    return std::nullopt;
  }
  m.mae = *mae;
  m.masker_checkpoint = absl::GetFlag(mt::MaskerCheckpointFlag());
  absl::StatusOr<mt::Masker> masker = mt::LoadMasker(m.masker_checkpoint);
  if (!masker.ok()) {
    spdlog::error("{}", masker.status().ToString());
    return std::nullopt;
  }
  m.masker = *masker;
  if (m.masker->options().img_size != m.mae->options().img_size ||
      m.masker->options().patch_size != m.mae->options().patch_size) {
    spdlog::error("the masker and the MAE disagree on image or patch size");
    return std::nullopt;
  }
  absl::StatusOr<mt::server::DaemonCodec> codec = mt::server::CodecFromFlags(m.compute, m.mae->options());
  if (!codec.ok()) {
    spdlog::error("--codec_checkpoint: {}", codec.status().ToString());
    return std::nullopt;
  }
  m.codec = *codec;
  return m;
}

// The service's configuration from the flags and the loaded `models`; std::nullopt (after logging
// why) for an unknown --payload, or --payload latent without a codec.
std::optional<mt::server::SenderConfig> SenderConfigFromFlags(const SenderModels& models) {
  mt::server::SenderConfig config;
  config.receiver = absl::GetFlag(FLAGS_receiver);
  config.mae_checkpoint = models.mae_checkpoint;
  config.masker_checkpoint = models.masker_checkpoint;
  config.codec_checkpoint = models.codec.checkpoint;
  config.max_pixels = absl::GetFlag(FLAGS_max_pixels);
  config.max_inflight_pixels = absl::GetFlag(FLAGS_max_inflight_pixels);
  config.max_packet_bytes = absl::GetFlag(FLAGS_max_packet_bytes);
  config.max_request_gflop = absl::GetFlag(FLAGS_max_request_gflop);
  config.default_keep_ratio = absl::GetFlag(FLAGS_keep_ratio);
  if (const std::string payload = absl::GetFlag(FLAGS_payload); payload != "auto") {
    absl::StatusOr<mt::PayloadKind> kind = mt::ParsePayloadKind(payload);
    if (!kind.ok() || (*kind == mt::PayloadKind::kLatent && models.codec.coder == nullptr)) {
      spdlog::error("--payload {}: {}", payload,
                    kind.ok() ? "needs a codec (--codec_checkpoint)" : std::string(kind.status().message()));
      return std::nullopt;
    }
    config.default_payload = *kind;
  }
  config.token = mt::server::FlagOrEnv(absl::GetFlag(FLAGS_token), "MT_TOKEN");
  config.batching = mt::server::BatchingFromFlags(absl::GetFlag(FLAGS_max_queued_tiles));
  return config;
}

// Channel arguments of every receiver channel: unlimited sends, replies up to --max_message_bytes,
// quick reconnects and keepalive.
grpc::ChannelArguments ReceiverChannelArgs() {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(static_cast<int>(std::min<int64_t>(absl::GetFlag(FLAGS_max_message_bytes), INT32_MAX)));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);  // a restarted receiver is found quickly
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);  // else one refused attempt waits 20 s
  // A stalled receiver breaks the stream within ~15 s (its waiting requests retry or fail) instead
  // of holding it, and a Write blocked on it, forever.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, mt::server::kKeepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, mt::server::kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return args;
}

// The pool of receivers of config.receiver with the --receiver_* credentials, token and limits;
// nullptr (after logging why) when the credentials, the limits or the receiver list are invalid.
std::shared_ptr<mt::server::ReceiverPool> ReceiversFromFlags(const mt::server::SenderConfig& config) {
  mt::server::ChannelSecurity security{absl::GetFlag(FLAGS_receiver_tls), absl::GetFlag(FLAGS_receiver_ca),
                                       absl::GetFlag(FLAGS_receiver_cert), absl::GetFlag(FLAGS_receiver_key),
                                       absl::GetFlag(FLAGS_receiver_tls_name)};
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds = mt::server::MakeChannelCredentials(security);
  if (!creds.ok()) {
    spdlog::error("{}", creds.status().ToString());
    return nullptr;
  }
  // Each receiver gets its own channel (one stream each). An address resolved from a dns: name
  // is checked against that name's certificate unless --receiver_tls_name says otherwise.
  auto channel_for = [creds = *creds, args = ReceiverChannelArgs(), security](const std::string& target,
                                                                               const std::string& tls_name) {
    grpc::ChannelArguments a = args;
    const std::string& name = !security.target_name.empty() ? security.target_name : tls_name;
    if (!name.empty()) {
      if (security.tls) a.SetSslTargetNameOverride(name);
      a.SetString(GRPC_ARG_DEFAULT_AUTHORITY, name);
    }
    return grpc::CreateCustomChannel(target, creds, a);
  };
  mt::server::PoolOptions pool_options;
  pool_options.link.token = mt::server::FlagOrEnv(absl::GetFlag(FLAGS_receiver_token), "MT_RECEIVER_TOKEN");
  if (pool_options.link.token.empty() && !config.token.empty())
    spdlog::warn("--token is set but --receiver_token is not: the receiver hop carries no token (the clients' "
                 "token is not forwarded); a receiver that requires one will refuse this sender");
  pool_options.link.max_message_bytes = absl::GetFlag(FLAGS_receiver_max_message_bytes);
  pool_options.link.max_packet_bytes = absl::GetFlag(FLAGS_max_packet_bytes);
  if (pool_options.link.max_message_bytes <= 2 * mt::server::kChunkOverheadBytes) {
    spdlog::error("--receiver_max_message_bytes must exceed {}", 2 * mt::server::kChunkOverheadBytes);
    return nullptr;
  }
  pool_options.resolve_every =
      std::chrono::milliseconds(static_cast<int64_t>(std::max(0.1, absl::GetFlag(FLAGS_receiver_resolve_s)) * 1000));
  absl::StatusOr<std::shared_ptr<mt::server::ReceiverPool>> receivers =
      mt::server::ReceiverPool::Create(config.receiver, channel_for, pool_options);
  if (!receivers.ok()) {
    spdlog::error("{}", receivers.status().ToString());
    return nullptr;
  }
  return *receivers;
}

}  // namespace

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  mt::server::BlockShutdownSignals();
  mt::InstallCliHelp(kUsage, "server/");
  absl::ParseCommandLine(argc, argv);
  spdlog::info("runtime: {}", mt::ConfigureCpuRuntime({absl::GetFlag(FLAGS_threads), true}));
  const std::optional<SenderModels> models = LoadModelsFromFlags();
  if (!models) return 1;
  const std::optional<mt::server::SenderConfig> config = SenderConfigFromFlags(*models);
  if (!config) return 1;
  const std::shared_ptr<mt::server::ReceiverPool> receivers = ReceiversFromFlags(*config);
  if (!receivers) return 1;
  auto encoder = std::make_shared<mt::PacketEncoder>(models->mae, models->masker, models->compute, models->codec.coder);
  absl::StatusOr<std::shared_ptr<mt::server::DaemonMetrics>> metrics = mt::server::MetricsFromFlags("sender");
  if (!metrics.ok()) {
    spdlog::error("{}", metrics.status().ToString());
    return 1;
  }
  mt::server::SenderService service(encoder, receivers, *config, *metrics);

  const mt::server::ServerOptions options = mt::server::ServerOptionsFromFlags(absl::GetFlag(FLAGS_listen));
  absl::StatusOr<mt::server::RunningServer> server = mt::server::StartServer(options, {&service});
  if (!server.ok()) {
    spdlog::error("{}", server.status().ToString());
    return 1;
  }
  spdlog::info("mt-sender serving on port {} ({}{}), model {}, receiver {}, unset payload means {}", server->port,
               options.tls.cert.empty() ? "plaintext" : "TLS", config->token.empty() ? "" : ", token required",
               encoder->fingerprint(), config->receiver,
               mt::PayloadKindName(config->default_payload.value_or(encoder->best_payload())));
  const int sig = mt::server::WaitForShutdownSignal(*server->server, absl::GetFlag(FLAGS_grace_s));
  spdlog::info("signal {}: stopped accepting, in-flight requests finished; bye", sig);
  return 0;
}
