// --codec_checkpoint, defined once for every binary (see model_path_flags.h).
#include "absl/flags/flag.h"
#include "core/config/flags/model_path_flags.h"
#include "core/config/model_paths.h"

ABSL_FLAG(std::string, codec_checkpoint, mt::kDefaultCodecCheckpoint,
          "latent codec checkpoint (exported with coding tables) for payload 'latent'. mt-sender, mt-receiver: must "
          "be the other daemon's (fingerprint checked); if the default file is missing the daemon runs without it; "
          "empty = off. mt-client bench: the latent rows (empty: none); local --payload latent: the codec to run "
          "(required)");

namespace mt {

const absl::Flag<std::string>& CodecCheckpointFlag() { return FLAGS_codec_checkpoint; }

}  // namespace mt
