// Flags both daemons share, defined once in daemon_flags.cc (linked only into mt-sender and
// mt-receiver, target mt_daemon_flags), and the start-up step that reads them. The model paths
// (--mae_checkpoint, --codec_checkpoint, ...) are every binary's: core/config/flags/model_path_flags.h.
#pragma once

#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "core/model/mae.h"
#include "core/runtime/compute_precision.h"
#include "core/runtime/dynamic_batcher.h"
#include "server/common/daemon.h"
#include "server/common/metrics.h"

ABSL_DECLARE_FLAG(int64_t, max_message_bytes);
ABSL_DECLARE_FLAG(int64_t, max_packet_bytes);
ABSL_DECLARE_FLAG(int64_t, max_pixels);
ABSL_DECLARE_FLAG(double, max_request_gflop);
ABSL_DECLARE_FLAG(std::string, token);
ABSL_DECLARE_FLAG(std::string, tls_cert);
ABSL_DECLARE_FLAG(std::string, tls_key);
ABSL_DECLARE_FLAG(std::string, tls_client_ca);
ABSL_DECLARE_FLAG(bool, tls_require_client_cert);
ABSL_DECLARE_FLAG(double, grace_s);
ABSL_DECLARE_FLAG(int, max_concurrent_streams);
ABSL_DECLARE_FLAG(int, max_threads);
ABSL_DECLARE_FLAG(int, threads);
ABSL_DECLARE_FLAG(int, max_batch);
ABSL_DECLARE_FLAG(int, max_batch_tiles);
ABSL_DECLARE_FLAG(int, batch_workers);
ABSL_DECLARE_FLAG(int64_t, large_request_tiles);
ABSL_DECLARE_FLAG(int, large_request_threads);
ABSL_DECLARE_FLAG(double, max_batch_delay_ms);
ABSL_DECLARE_FLAG(std::string, compute);
ABSL_DECLARE_FLAG(std::string, metrics_listen);

namespace mt::server {

// --mae_checkpoint, or its deprecated name --checkpoint (one warning); INVALID_ARGUMENT when both
// are given.
absl::StatusOr<std::string> MaeCheckpointFromFlags();

// --compute (fp32 | bf16 | auto) for this CPU; logs the choice, and a warning when bf16 has no
// native support here. INVALID_ARGUMENT for another name.
absl::StatusOr<ComputePrecision> ComputeFromFlags();

// --codec_checkpoint through LoadDaemonCodec (the default path may be absent: then one info
// line and no codec); logs the codec's fingerprint, levels and channels when one loads.
absl::StatusOr<DaemonCodec> CodecFromFlags(ComputePrecision compute, const MaskedAutoencoderOptions& mae);

// --batch_* and --large_request_* (dynamic batching and the large-request lane); `max_queued_weight`
// is the daemon's own queue bound (0 = none).
BatchingOptions BatchingFromFlags(int64_t max_queued_weight);

// Serving options from --max_message_bytes, --max_concurrent_streams, --max_threads and --tls_*, on
// `listen` (each daemon has its own --listen default).
ServerOptions ServerOptionsFromFlags(const std::string& listen);

// --metrics_listen through DaemonMetrics::Create for `role`; logs the address when serving.
absl::StatusOr<std::shared_ptr<DaemonMetrics>> MetricsFromFlags(const std::string& role);

}  // namespace mt::server
