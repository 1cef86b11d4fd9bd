#include "server/common/daemon_flags.h"

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, codec_checkpoint, mt::server::kDefaultCodecCheckpoint,
          "latent codec checkpoint (exported with coding tables) for payload 'latent'; must be the other daemon's "
          "(fingerprint checked). If the default file is missing the daemon runs without it; empty = off");

namespace mt::server {

absl::StatusOr<DaemonCodec> CodecFromFlags(ComputePrecision compute, const MaskedAutoencoderOptions& mae) {
  const std::string path = absl::GetFlag(FLAGS_codec_checkpoint);
  absl::StatusOr<DaemonCodec> codec = LoadDaemonCodec(path, path == kDefaultCodecCheckpoint, compute, mae);
  if (!codec.ok()) return codec;
  if (codec->coder == nullptr) {
    spdlog::info("no codec{}: payload 'latent' disabled", path.empty() ? "" : " at " + path);
  } else {
    spdlog::info("codec {} ({}): {} step levels, {} latent channels", codec->coder->fingerprint(), codec->checkpoint,
                 codec->coder->num_levels(), codec->coder->options().latent_channels);
  }
  return codec;
}

}  // namespace mt::server
