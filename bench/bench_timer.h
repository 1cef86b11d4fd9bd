// Tiny timing helper shared by the benchmarks: median seconds per call.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace mt::bench {

// Runs `fn` `warmup` times, then repeatedly until `min_seconds` have passed (at least
// `min_runs` times); returns the median seconds of one call.
inline double MedianSeconds(const std::function<void()>& fn, double min_seconds = 2.0,
                            int warmup = 2, int min_runs = 5) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> times;
  const auto start = std::chrono::steady_clock::now();
  while (static_cast<int>(times.size()) < min_runs ||
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < min_seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

}  // namespace mt::bench
