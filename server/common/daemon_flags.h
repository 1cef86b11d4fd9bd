// Flags both daemons share, defined once in daemon_flags.cc (linked only into mt-sender and
// mt-receiver, target mt_daemon_flags), and the start-up step that reads them.
#pragma once

#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "core/model/mae.h"
#include "core/runtime/compute_precision.h"
#include "server/common/daemon.h"

ABSL_DECLARE_FLAG(std::string, codec_checkpoint);

namespace mt::server {

inline constexpr char kDefaultCodecCheckpoint[] = "weights/codec.pt";

// --codec_checkpoint through LoadDaemonCodec (the default path may be absent: then one info
// line and no codec); logs the codec's fingerprint, levels and channels when one loads.
absl::StatusOr<DaemonCodec> CodecFromFlags(ComputePrecision compute, const MaskedAutoencoderOptions& mae);

}  // namespace mt::server
