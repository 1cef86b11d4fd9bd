// mt-sender: scores patches, keeps the important ones, streams them to mt-receiver.
#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>
#include <spdlog/spdlog.h>

#include "core/runtime/blas_core.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "core/codec/packet.h"
#include "core/io/checkpoint.h"
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
ABSL_FLAG(std::string, masker_checkpoint, "weights/masker.pt", "masker checkpoint");
ABSL_FLAG(int64_t, max_queued_tiles, 1 << 15,
          "tiles waiting for the encoder beyond which a request is refused with RESOURCE_EXHAUSTED (0 = no bound; "
          "the default is two --max_pixels images of 32x32 tiles, ~400 MB of decoded pixels)");
ABSL_FLAG(int64_t, max_inflight_pixels, 24 << 20,
          "pixels of all requests between their header check and their reply (decoded images, tiles, the "
          "reconstruction) beyond which a request is refused with RESOURCE_EXHAUSTED before it is decoded; one request "
          "alone is always admitted (0 = no bound; 24 Mi: one --max_pixels image and small ones, ~1 GiB RSS)");
ABSL_FLAG(double, keep_ratio, 0.16, "keep ratio when a request names no selection");
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

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  mt::server::BlockShutdownSignals();
  mt::InstallCliHelp(
      "mt-sender [flags]\n\nAccepts images from mt-client, keeps the patches the masker scores as important, "
      "encodes them with the MAE encoder (or, for payload 'latent', the codec of --codec_checkpoint) and streams only "
      "those to mt-receiver over one long-lived stream per receiver (several receivers: packets spread over them).",
      "server/");
  absl::ParseCommandLine(argc, argv);
  spdlog::info("runtime: {}", mt::ConfigureCpuRuntime({absl::GetFlag(FLAGS_threads), true}));
  absl::StatusOr<mt::ComputePrecision> compute = mt::server::ComputeFromFlags();
  if (!compute.ok()) {
    spdlog::error("--compute: {}", std::string(compute.status().message()));
    return 1;
  }
  absl::StatusOr<mt::MaskedAutoencoder> mae = mt::LoadMae(absl::GetFlag(FLAGS_checkpoint));
  if (!mae.ok()) {
    spdlog::error("{}", mae.status().ToString());
    return 1;
  }
  absl::StatusOr<mt::Masker> masker = mt::LoadMasker(absl::GetFlag(FLAGS_masker_checkpoint));
  if (!masker.ok()) {
    spdlog::error("{}", masker.status().ToString());
    return 1;
  }
  if (masker->get()->options().img_size != mae->get()->options().img_size ||
      masker->get()->options().patch_size != mae->get()->options().patch_size) {
    spdlog::error("the masker and the MAE disagree on image or patch size");
    return 1;
  }
  absl::StatusOr<mt::server::DaemonCodec> codec = mt::server::CodecFromFlags(*compute, mae->get()->options());
  if (!codec.ok()) {
    spdlog::error("--codec_checkpoint: {}", codec.status().ToString());
    return 1;
  }
  mt::server::SenderConfig config;
  config.receiver = absl::GetFlag(FLAGS_receiver);
  config.mae_checkpoint = absl::GetFlag(FLAGS_checkpoint);
  config.masker_checkpoint = absl::GetFlag(FLAGS_masker_checkpoint);
  config.codec_checkpoint = codec->checkpoint;
  config.max_pixels = absl::GetFlag(FLAGS_max_pixels);
  config.max_inflight_pixels = absl::GetFlag(FLAGS_max_inflight_pixels);
  config.max_packet_bytes = absl::GetFlag(FLAGS_max_packet_bytes);
  config.max_request_gflop = absl::GetFlag(FLAGS_max_request_gflop);
  config.default_keep_ratio = absl::GetFlag(FLAGS_keep_ratio);
  if (const std::string payload = absl::GetFlag(FLAGS_payload); payload != "auto") {
    absl::StatusOr<mt::PayloadKind> kind = mt::ParsePayloadKind(payload);
    if (!kind.ok() || (*kind == mt::PayloadKind::kLatent && codec->coder == nullptr)) {
      spdlog::error("--payload {}: {}", payload,
                    kind.ok() ? "needs a codec (--codec_checkpoint)" : std::string(kind.status().message()));
      return 1;
    }
    config.default_payload = *kind;
  }
  config.token = mt::server::FlagOrEnv(absl::GetFlag(FLAGS_token), "MT_TOKEN");
  config.batching = {absl::GetFlag(FLAGS_max_batch), absl::GetFlag(FLAGS_max_batch_tiles),
                     std::chrono::microseconds(static_cast<int64_t>(absl::GetFlag(FLAGS_max_batch_delay_ms) * 1000)),
                     absl::GetFlag(FLAGS_batch_workers), absl::GetFlag(FLAGS_max_queued_tiles),
                     absl::GetFlag(FLAGS_large_request_tiles), absl::GetFlag(FLAGS_large_request_threads)};

  mt::server::ChannelSecurity security{absl::GetFlag(FLAGS_receiver_tls), absl::GetFlag(FLAGS_receiver_ca),
                                       absl::GetFlag(FLAGS_receiver_cert), absl::GetFlag(FLAGS_receiver_key),
                                       absl::GetFlag(FLAGS_receiver_tls_name)};
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds = mt::server::MakeChannelCredentials(security);
  if (!creds.ok()) {
    spdlog::error("{}", creds.status().ToString());
    return 1;
  }
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
  // Each receiver gets its own channel (one stream each). An address resolved from a dns: name
  // is checked against that name's certificate unless --receiver_tls_name says otherwise.
  auto channel_for = [creds = *creds, args, security](const std::string& target, const std::string& tls_name) {
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
    return 1;
  }
  pool_options.resolve_every =
      std::chrono::milliseconds(static_cast<int64_t>(std::max(0.1, absl::GetFlag(FLAGS_receiver_resolve_s)) * 1000));
  absl::StatusOr<std::shared_ptr<mt::server::ReceiverPool>> receivers =
      mt::server::ReceiverPool::Create(config.receiver, channel_for, pool_options);
  if (!receivers.ok()) {
    spdlog::error("{}", receivers.status().ToString());
    return 1;
  }
  auto encoder = std::make_shared<mt::PacketEncoder>(*mae, *masker, *compute, codec->coder);
  absl::StatusOr<std::shared_ptr<mt::server::DaemonMetrics>> metrics = mt::server::MetricsFromFlags("sender");
  if (!metrics.ok()) {
    spdlog::error("{}", metrics.status().ToString());
    return 1;
  }
  mt::server::SenderService service(encoder, *receivers, config, *metrics);

  mt::server::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  options.tls = {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_client_ca),
                 absl::GetFlag(FLAGS_tls_require_client_cert)};
  absl::StatusOr<mt::server::RunningServer> server = mt::server::StartServer(options, {&service});
  if (!server.ok()) {
    spdlog::error("{}", server.status().ToString());
    return 1;
  }
  spdlog::info("mt-sender serving on port {} ({}{}), model {}, receiver {}, unset payload means {}", server->port,
               options.tls.cert.empty() ? "plaintext" : "TLS", config.token.empty() ? "" : ", token required",
               encoder->fingerprint(), config.receiver,
               mt::PayloadKindName(config.default_payload.value_or(encoder->best_payload())));
  const int sig = mt::server::WaitForShutdownSignal(*server->server, absl::GetFlag(FLAGS_grace_s));
  spdlog::info("signal {}: stopped accepting, in-flight requests finished; bye", sig);
  return 0;
}
