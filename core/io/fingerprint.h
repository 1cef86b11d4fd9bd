// Identity of a model's weights, so a receiver can refuse features made by another model.
#pragma once

#include <torch/nn/module.h>

#include <string>
#include <string_view>

namespace mt {

// 16 hex digits of FNV-1a 64 over every parameter and buffer (name, shape, fp32 bytes), in
// registration order. Equal for the same checkpoint loaded twice; not a cryptographic hash.
std::string ModelFingerprint(const torch::nn::Module& module);

// 16 hex digits of FNV-1a 64 over `bytes` (checksums of stored files in load and fault tests).
std::string ContentHash(std::string_view bytes);

}  // namespace mt
