// libFuzzer target: arbitrary bytes as the image of an otherwise valid SendRequest →
// ValidateSendRequest (header parse, pixel limit, OpenCV decode). Complements
// send_request_fuzzer, whose mutations mostly break the protobuf framing before the image is
// reached. Must return a status for any bytes and never decode more pixels than the limit.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/validate_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mt::v1::SendRequest request;
  request.set_id("fuzz");
  request.set_image(reinterpret_cast<const char*>(data), size);
  mt::fuzz::ValidateAndCheck(request);
  return 0;
}
