#include "core/train/progress_bar.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_format.h"

namespace mt {

std::string FormatDuration(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

ProgressBar::ProgressBar(std::string label, int64_t total, double min_interval_s, bool enabled)
    : label_(std::move(label)), total_(total), min_interval_s_(min_interval_s), enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void ProgressBar::Update(int64_t step, int64_t items, const std::string& status) {
  if (first_step_ < 0) first_step_ = step - 1;  // steps before this call happened before start_
  items_ += items;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  const bool last = total_ > 0 && step >= total_;
  if (drawn_ && !last && since_draw < (tty_ ? min_interval_s_ : 30.0)) return;
  last_draw_ = now;
  drawn_ = true;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? items_ / elapsed : 0.0;
  const double steps_per_s = elapsed > 0 ? (step - first_step_) / elapsed : 0.0;
  std::string bar, eta = "?";
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(step) / static_cast<double>(total_));
    const int width = 24, filled = static_cast<int>(frac * width);
    bar = "|" + std::string(filled, '#') + std::string(width - filled, ' ') + absl::StrFormat("| %3.0f%% ", 100 * frac);
    if (steps_per_s > 0) eta = FormatDuration((total_ - step) / steps_per_s);
  }
  const std::string line = absl::StrFormat("%s step %d%s %s%s  %.1f img/s  elapsed %s  ETA %s", label_, step,
                                           total_ > 0 ? absl::StrFormat("/%d", total_) : "", bar, status, rate,
                                           FormatDuration(elapsed), eta);
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (enabled_ && tty_ && drawn_) std::fprintf(stderr, "\n");
}

}  // namespace mt
