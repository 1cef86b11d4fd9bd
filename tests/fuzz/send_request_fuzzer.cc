// libFuzzer target: arbitrary bytes as a client SendRequest → ValidateSendRequest (id,
// selection, enums, image header, pixel limit, OpenCV decode). Must return a status for any
// input and never decode more pixels than the limit.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/validate_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mt::v1::SendRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  mt::fuzz::ValidateAndCheck(request);
  return 0;
}
