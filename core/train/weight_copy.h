// Copying weights between two modules of the same architecture (starting points for training).
#pragma once

#include <torch/nn/module.h>

#include <string>

#include "absl/status/status.h"

namespace mt {

// Copies every parameter of `from` into the same-named, same-shaped parameter of `to`;
// FAILED_PRECONDITION naming `what` and the weight if the sets of names or shapes differ.
absl::Status CopyParameters(const torch::nn::Module& from, torch::nn::Module& to, const std::string& what);

}  // namespace mt
