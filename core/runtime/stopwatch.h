// Wall-clock stage timings for reports. Thread-safe (no state).
#pragma once

#include <chrono>

namespace mt {

// Milliseconds elapsed since `start` on the steady clock.
inline double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace mt
