// Per-step learning-rate schedules.
#pragma once

#include <cstdint>

namespace mt {

// Linear warmup 0 → base over `warmup` steps, then half-cycle cosine base → min_lr at `total`
// (official MAE: lr·step/warmup, then min + (base−min)·½(1 + cos(π·(step−warmup)/(total−warmup)))).
double WarmupCosineLr(int64_t step, int64_t total, int64_t warmup, double base, double min_lr = 0.0);

// The MAE convention: `lr` when > 0, else base_lr · effective_batch / 256.
double BatchScaledLr(double lr, double base_lr, int64_t effective_batch);

// Linear warmup 0 → base over `warmup` steps, then linear decay to 0 at `total` (seed masker).
double WarmupLinearLr(int64_t step, int64_t total, int64_t warmup, double base);

// WarmupLinearLr with the warmup given as a fraction of `total` (truncated to whole steps): the
// schedule of the masker and the codec tasks.
double WarmupFractionLinearLr(int64_t step, int64_t total, double warmup_fraction, double base);

}  // namespace mt
