// Gumbel temperature schedule: continuous cosine anneal.
#pragma once

#include <cstdint>

namespace mt {

struct TemperatureScheduleOptions {
  double start_value = 1.0;   // τ before and at start_step
  double final_value = 0.5;   // τ at and after final_step
  int64_t start_step = 0;     // first step of the anneal
  int64_t final_step = 2000;  // last step of the anneal
};

// τ(t) = final + (start − final)·(1 + cos(π·(t − t0)/(t1 − t0)))/2 on [t0, t1], constant outside.
// With the defaults: τ(0) = 1.0, τ(1000) = 0.75, τ(2000) = 0.5.
double Temperature(const TemperatureScheduleOptions& options, int64_t step);

}  // namespace mt
