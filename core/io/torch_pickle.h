// Reading Python `torch.save` files (zip archives with a pickled object) from C++: the state dict
// of a checkpoint such as facebookresearch/mae's `{"model": OrderedDict(name -> tensor)}`.
// LibTorch's own unpickler turns every `collections.OrderedDict` into None (it only expects them
// as the unused backward-hooks argument of a tensor), so the pickle is first rewritten at opcode
// level to build plain dicts instead (RewriteOrderedDicts), then handed to torch::pickle_load.
// Thread-safety: free functions without shared state.
#pragma once

#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace mt {

// The pickle (protocol 2-5 opcodes) with every `collections.OrderedDict()` construction replaced by
// an empty dict (its items are still set). INVALID_ARGUMENT for an unknown opcode or a truncated
// stream.
absl::StatusOr<std::string> RewriteOrderedDicts(const std::string& pickle);

// The tensors of a torch.save file: the dict under `key` when the top level is a dict holding it
// (official MAE checkpoints: "model"), else the top-level dict itself; non-tensor entries are
// skipped. NOT_FOUND for a missing file, INVALID_ARGUMENT when it is not a torch.save archive or
// holds no tensor dict.
absl::StatusOr<std::map<std::string, at::Tensor>> ReadTorchStateDict(const std::string& path,
                                                                     const std::string& key = "model");

}  // namespace mt
