// Copying weights between two modules of the same architecture (starting points for training).
#pragma once

#include <torch/nn/module.h>

#include <string>

#include "absl/status/status.h"

namespace mt {

// Copies every parameter of `from` into the same-named, same-shaped parameter of `to`;
// FAILED_PRECONDITION naming `what` and the weight if the sets of names or shapes differ. With a
// `fresh_prefix`, the parameters of `to` whose names start with it may be absent from `from`
// (they keep their initial values: a part added to a trained model).
absl::Status CopyParameters(const torch::nn::Module& from, torch::nn::Module& to, const std::string& what,
                            const std::string& fresh_prefix = "");

}  // namespace mt
