// --mae_checkpoint, defined once for every binary (see model_path_flags.h).
#include "absl/flags/flag.h"
#include "core/config/flags/model_path_flags.h"
#include "core/config/model_paths.h"

ABSL_FLAG(std::string, mae_checkpoint, mt::kDefaultMaeCheckpoint,
          "MAE checkpoint (.pt). mt-sender, mt-receiver: both must load the same one (fingerprint checked). "
          "mt-client local, bench: the in-process MAE (local with --mae_checkpoint= (empty): an untrained seed-size "
          "MAE, a pipeline check only). mt-eval: the MAE it measures");

namespace mt {

const absl::Flag<std::string>& MaeCheckpointFlag() { return FLAGS_mae_checkpoint; }

}  // namespace mt
