// Programmer-error checks for the entropy layer, which cannot use TORCH_CHECK (it is pure C++).
// Only for arguments the calling code controls (a zero frequency, a mask of the wrong size):
// bytes from the wire are validated with absl::Status instead and never reach these.
#pragma once

#include <cstdio>
#include <cstdlib>

// Aborts with the condition, message and location when `cond` is false. Always on: the checks are
// O(1) per symbol and a silently wrong stream is worse than a crash in the sender.
#define MT_ENTROPY_CHECK(cond, msg)                                                                    \
  do {                                                                                                 \
    if (!(cond)) {                                                                                     \
      std::fprintf(stderr, "%s:%d: MT_ENTROPY_CHECK(%s) failed: %s\n", __FILE__, __LINE__, #cond, msg); \
      std::abort();                                                                                    \
    }                                                                                                  \
  } while (false)
