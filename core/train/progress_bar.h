// One-line progress display for long loops: step, loss, throughput, ETA.
// Thread-safety: single-threaded (the training loop's thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mt {

class ProgressBar {
 public:
  // `total` steps expected (≤ 0: unknown); redraws at most every `min_interval_s` seconds.
  // On a terminal it redraws one line in place; otherwise it prints a line every 30 s.
  ProgressBar(std::string label, int64_t total, double min_interval_s = 0.5, bool enabled = true);

  // Reports progress at `step` (absolute), `items` processed since the previous call, and a
  // short status text (e.g. "loss 0.0213 lr 1.2e-4").
  void Update(int64_t step, int64_t items, const std::string& status);
  // Ends the line.
  void Finish();

 private:
  std::string label_;
  int64_t total_;
  double min_interval_s_;
  bool enabled_, tty_;
  int64_t first_step_ = -1, items_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

// "1h02m", "4m05s", "12s".
std::string FormatDuration(double seconds);

}  // namespace mt
