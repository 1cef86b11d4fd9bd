// Identity of a model's weights, so a receiver can refuse features made by another model.
#pragma once

#include <torch/nn/module.h>

#include <string>

namespace mt {

// 16 hex digits of FNV-1a 64 over every parameter and buffer (name, shape, fp32 bytes), in
// registration order. Equal for the same checkpoint loaded twice; not a cryptographic hash.
std::string ModelFingerprint(const torch::nn::Module& module);

}  // namespace mt
