// libFuzzer target: arbitrary bytes as the image of an otherwise valid SendRequest →
// ValidateSendRequest (header parse, pixel limit, OpenCV decode). Complements
// send_request_fuzzer, whose mutations mostly break the protobuf framing before the image is
// reached. Must return a status for any bytes and never decode more pixels than the limit.
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
  request.set_id("fuzz");
  request.set_image(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<mt::server::ValidRequest> valid = mt::server::ValidateSendRequest(request, 0.16, kMaxPixels);
  if (valid.ok()) {
    const at::Tensor& image = valid->image;
    if (image.dim() != 3 || image.size(0) != 3 || image.size(1) * image.size(2) > kMaxPixels) __builtin_trap();
  }
  return 0;
}
