// --masker_checkpoint, defined once for every binary (see model_path_flags.h).
#include "absl/flags/flag.h"
#include "core/config/flags/model_path_flags.h"
#include "core/config/model_paths.h"

ABSL_FLAG(std::string, masker_checkpoint, mt::kDefaultMaskerCheckpoint,
          "masker checkpoint (.pt), the patch scorer. mt-sender: selects the patches it sends. mt-client local, "
          "bench: the in-process masker (local with --masker_checkpoint= (empty): an untrained masker). mt-eval: "
          "measured against random and grid masks only when given");

namespace mt {

const absl::Flag<std::string>& MaskerCheckpointFlag() { return FLAGS_masker_checkpoint; }

}  // namespace mt
