#include "core/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace mt {

double WarmupCosineLr(int64_t step, int64_t total, int64_t warmup, double base, double min_lr) {
  if (warmup > 0 && step < warmup) return base * static_cast<double>(step) / static_cast<double>(warmup);
  if (total <= warmup) return base;
  const double progress = std::clamp(static_cast<double>(step - warmup) / static_cast<double>(total - warmup), 0.0, 1.0);
  return min_lr + (base - min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

double BatchScaledLr(double lr, double base_lr, int64_t effective_batch) {
  return lr > 0 ? lr : base_lr * static_cast<double>(effective_batch) / 256.0;
}

double WarmupLinearLr(int64_t step, int64_t total, int64_t warmup, double base) {
  if (warmup > 0 && step < warmup) return base * static_cast<double>(step) / static_cast<double>(warmup);
  if (total <= warmup) return base;
  const double remaining = static_cast<double>(total - step) / static_cast<double>(total - warmup);
  return base * std::clamp(remaining, 0.0, 1.0);
}

double WarmupFractionLinearLr(int64_t step, int64_t total, double warmup_fraction, double base) {
  return WarmupLinearLr(step, total, static_cast<int64_t>(warmup_fraction * static_cast<double>(total)), base);
}

}  // namespace mt
