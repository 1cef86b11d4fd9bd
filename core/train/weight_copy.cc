#include "core/train/weight_copy.h"

#include <torch/csrc/autograd/grad_mode.h>

#include "absl/strings/str_cat.h"

namespace mt {

absl::Status CopyParameters(const torch::nn::Module& from, torch::nn::Module& to, const std::string& what,
                            const std::string& fresh_prefix) {
  torch::NoGradGuard no_grad;
  auto mine = to.named_parameters(/*recurse=*/true);
  auto theirs = from.named_parameters(/*recurse=*/true);
  size_t fresh = 0;
  if (!fresh_prefix.empty())
    for (const auto& kv : mine)
      if (kv.key().rfind(fresh_prefix, 0) == 0 && theirs.find(kv.key()) == nullptr) ++fresh;
  if (mine.size() != theirs.size() + fresh)
    return absl::FailedPreconditionError(
        absl::StrCat(what, " has ", theirs.size(), " weights, the configured model ", mine.size() - fresh));
  for (const auto& kv : theirs) {
    at::Tensor* dst = mine.find(kv.key());
    if (dst == nullptr || dst->sizes() != kv.value().sizes())
      return absl::FailedPreconditionError(absl::StrCat(
          what, ": weight '", kv.key(), "' is missing or differs in shape from the configured model"));
    dst->copy_(kv.value());
  }
  return absl::OkStatus();
}

}  // namespace mt
