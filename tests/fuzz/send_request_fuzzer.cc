// libFuzzer target: arbitrary bytes as a client SendRequest → ValidateSendRequest (id,
// selection, enums, image header, pixel limit, OpenCV decode). Must return a status for any
// input and never decode more pixels than the limit.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstddef>
#include <cstdint>

#include "mt/v1/transmission.pb.h"
#include "server/sender/request_validation.h"

namespace {
constexpr int64_t kMaxPixels = 256 * 256;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = [] {
    at::set_num_threads(1);
    return true;
  }();
  (void)init;
  mt::v1::SendRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  absl::StatusOr<mt::server::ValidRequest> valid = mt::server::ValidateSendRequest(request, 0.16, kMaxPixels);
  if (valid.ok()) {
    const at::Tensor& image = valid->image;
    if (image.dim() != 3 || image.size(0) != 3 || image.size(1) * image.size(2) > kMaxPixels) __builtin_trap();
  }
  return 0;
}
