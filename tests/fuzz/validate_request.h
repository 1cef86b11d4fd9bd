// Shared by the two request fuzzers: ValidateSendRequest on one request, trapping if an accepted
// image is not (3, H, W) within the pixel limit.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdint>

#include "mt/v1/transmission.pb.h"
#include "server/sender/request_validation.h"

namespace mt::fuzz {

constexpr int64_t kMaxPixels = 256 * 256;

inline void ValidateAndCheck(const v1::SendRequest& request) {
  static const bool init = [] {
    at::set_num_threads(1);
    return true;
  }();
  (void)init;
  absl::StatusOr<server::ValidRequest> valid = server::ValidateSendRequest(request, server::RequestDefaults{}, kMaxPixels);
  if (valid.ok()) {
    const at::Tensor& image = valid->image;
    if (image.dim() != 3 || image.size(0) != 3 || image.size(1) * image.size(2) > kMaxPixels) __builtin_trap();
  }
}

}  // namespace mt::fuzz
