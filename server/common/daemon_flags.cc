#include "server/common/daemon_flags.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "core/config/flags/model_path_flags.h"
#include "core/config/flags/renamed_flag.h"
#include "core/config/model_paths.h"

// Kept for one release so existing deployments keep starting; MaeCheckpointFromFlags resolves it.
ABSL_FLAG(std::string, checkpoint, "", "deprecated: use --mae_checkpoint (same meaning)");
ABSL_FLAG(int64_t, max_message_bytes, 64 << 20,
          "largest message accepted: a client request (sender) or a packet (receiver); RESOURCE_EXHAUSTED beyond");
ABSL_FLAG(int64_t, max_packet_bytes, int64_t{256} << 20,
          "largest sender->receiver packet; one over the receiver's --max_message_bytes travels in chunks and is "
          "rebuilt in memory up to this: the receiver refuses more, the sender refuses it before sending (set the "
          "same on both daemons)");
ABSL_FLAG(int64_t, max_pixels, 16 << 20,
          "largest image (width*height) accepted: decoded by the sender, described by a packet at the receiver");
ABSL_FLAG(double, max_request_gflop, 0,
          "arithmetic budget per request, in GFLOP of the models it needs (core/pipeline/request_cost): the sender "
          "refuses an image whose masker + encoder work is over it, the receiver a packet whose decoder work is, "
          "RESOURCE_EXHAUSTED before any model runs (0 = none beyond --max_pixels). For scale, a 12 MP photo costs "
          "the sender roughly 1,650 GFLOP with pixels at the default keep and 300 with latent; the receiver 3,000 "
          "and 300");
ABSL_FLAG(std::string, token, "",
          "require 'authorization: Bearer <token>' from callers (default: $MT_TOKEN; empty = off)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate: serve TLS (empty = plaintext)");
ABSL_FLAG(std::string, tls_key, "",
          "PEM private key for --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA: ask callers for certificates signed by it (mTLS)");
ABSL_FLAG(bool, tls_require_client_cert, true,
          "with --tls_client_ca: refuse callers without a valid client certificate (--notls_require_client_cert: verify one only if presented)");
ABSL_FLAG(double, grace_s, 10.0,
          "on SIGINT/SIGTERM, let in-flight calls finish for this long");
ABSL_FLAG(int, max_concurrent_streams, 64,
          "calls in flight per client connection (more wait for a slot)");
ABSL_FLAG(int, max_threads, 256,
          "gRPC handler threads; beyond this new calls get RESOURCE_EXHAUSTED");
ABSL_FLAG(int, threads, 0,
          "intra-op CPU threads (0 = all cores)");
ABSL_FLAG(int, max_batch, 16,
          "dynamic batching: images per model forward (1 = no batching)");
ABSL_FLAG(int, max_batch_tiles, 256,
          "dynamic batching: tiles per model forward (one large image may exceed it alone)");
ABSL_FLAG(int, batch_workers, 1,
          "dynamic batching: batches run at once, each on its own thread (use with --threads 1)");
ABSL_FLAG(int64_t, large_request_tiles, 2048,
          "requests of at least this many 32x32 tiles (2048: ~2 MP) run on a lane of their own at lower CPU priority, "
          "so small requests never wait behind them (0 = one lane for all)");
ABSL_FLAG(int, large_request_threads, 1,
          "intra-op CPU threads of the large-request lane while small requests are queued or running (0 = no limit; "
          "alone it always uses --threads). 1 keeps its GEMMs off OpenBLAS's one multi-threaded slot, which small "
          "requests' GEMMs would otherwise wait for (p99 of small requests during a 12 MP photo 3.1x -> 1.4x)");
ABSL_FLAG(double, max_batch_delay_ms, 0,
          "dynamic batching: how long a request may wait for others (0 = only those already queued)");
ABSL_FLAG(std::string, compute, "fp32",
          "model arithmetic: fp32; bf16 (matmuls in bf16 via autocast: ~2x the throughput under load on CPUs with "
          "avx512_bf16/amx_bf16, ~30x slower without them); int8 (the MAE's linear layers in int8, dynamic quantisation: "
          "faster on CPUs with VNNI, costs ~0.1 dB; docs/RESULTS.md); or auto (bf16 only where the CPU has native bf16 and a bf16 GEMM measured at startup runs >= 1.2x fp32). "
          "Default fp32: bit-exact with the reference and faster at low concurrency (docs/RESULTS.md)");

ABSL_FLAG(std::string, metrics_listen, "",
          "serve Prometheus metrics over HTTP at http://<host:port>/metrics (e.g. 0.0.0.0:9090; empty: off): requests "
          "by status code, latency and per-stage histograms, queue depth, batch sizes, wire bytes, stored PSNR");

namespace mt::server {

absl::StatusOr<std::string> MaeCheckpointFromFlags() {
  return FlagOrDeprecatedAlias(MaeCheckpointFlag(), FLAGS_checkpoint);
}

absl::StatusOr<ComputePrecision> ComputeFromFlags() {
  const std::string name = absl::GetFlag(FLAGS_compute);
  absl::StatusOr<ComputePrecision> compute = ParseComputePrecision(name);
  if (!compute.ok()) return compute;
  spdlog::info("model arithmetic: {}{} (CPU flags: {})", ComputePrecisionName(*compute),
               name == "auto" ? absl::StrFormat(" (auto: bf16 GEMM %.2fx fp32 here, bf16 needs %.1fx)", Bf16GemmSpeedup(),
                                                kBf16AutoMinSpeedup)
                              : "",
               CpuSpeedFlags());
  if (const std::string warning = ComputePrecisionWarning(*compute); !warning.empty()) spdlog::warn("--compute: {}", warning);
  return compute;
}

BatchingOptions BatchingFromFlags(int64_t max_queued_weight) {
  return {absl::GetFlag(FLAGS_max_batch), absl::GetFlag(FLAGS_max_batch_tiles),
          std::chrono::microseconds(static_cast<int64_t>(absl::GetFlag(FLAGS_max_batch_delay_ms) * 1000)),
          absl::GetFlag(FLAGS_batch_workers), max_queued_weight, absl::GetFlag(FLAGS_large_request_tiles),
          absl::GetFlag(FLAGS_large_request_threads)};
}

ServerOptions ServerOptionsFromFlags(const std::string& listen) {
  ServerOptions options;
  options.listen = listen;
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  options.max_threads = absl::GetFlag(FLAGS_max_threads);
  options.tls = {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_client_ca),
                 absl::GetFlag(FLAGS_tls_require_client_cert)};
  return options;
}

absl::StatusOr<std::shared_ptr<DaemonMetrics>> MetricsFromFlags(const std::string& role) {
  const std::string listen = absl::GetFlag(FLAGS_metrics_listen);
  absl::StatusOr<std::shared_ptr<DaemonMetrics>> metrics = DaemonMetrics::Create(role, listen);
  if (metrics.ok() && !listen.empty())
    spdlog::info("metrics on http://{}/metrics (port {})", listen, (*metrics)->port());
  return metrics;
}

absl::StatusOr<DaemonCodec> CodecFromFlags(ComputePrecision compute, const MaskedAutoencoderOptions& mae) {
  const std::string path = absl::GetFlag(CodecCheckpointFlag());
  absl::StatusOr<DaemonCodec> codec = LoadDaemonCodec(path, path == mt::kDefaultCodecCheckpoint, compute, mae);
  if (!codec.ok()) return codec;
  if (codec->coder == nullptr) {
    spdlog::info("no codec{}: payload 'latent' disabled", path.empty() ? "" : " at " + path);
  } else {
    spdlog::info("codec {} ({}): {} step levels, {} latent channels", codec->coder->fingerprint(), codec->checkpoint,
                 codec->coder->num_levels(), codec->coder->channels());
  }
  return codec;
}

}  // namespace mt::server
