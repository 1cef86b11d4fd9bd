// The checkpoint writer of core/io/checkpoint for model kinds that keep their own save/load file
// (core/io/latent_mae_checkpoint): the same layout, any module, any kind.
#pragma once

#include <string>

#include "core/io/checkpoint.h"

namespace mt {

// Writes `model`'s weights (fp32) as a checkpoint of `kind` whose options are `config_yaml`,
// with `trainer_state` under `trainer` when given; atomically (temp file + rename). INTERNAL
// naming the path on an IO failure.
absl::Status SaveModuleCheckpoint(const std::string& path, const torch::nn::Module& model, const std::string& kind,
                                  const std::string& config_yaml, const ArchiveWriter& trainer_state);

}  // namespace mt
