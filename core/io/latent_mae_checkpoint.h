// Checkpoints of the latent MAE (core/model/latent_mae), kind "latent_mae", in the layout of
// core/io/checkpoint.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "core/io/checkpoint.h"
#include "core/model/latent_mae.h"

namespace mt {

inline constexpr char kLatentMaeKind[] = "latent_mae";

// fp32 weights and options (+ trainer state when given); INTERNAL naming the path on IO failure.
absl::Status SaveCheckpoint(const std::string& path, LatentMae& model, const ArchiveWriter& trainer_state);
// NOT_FOUND / DATA_LOSS for a missing or unreadable file, FAILED_PRECONDITION for another kind
// or a weight that does not match the stored options (the message names it).
absl::StatusOr<LatentMae> LoadLatentMae(const std::string& path);

}  // namespace mt
