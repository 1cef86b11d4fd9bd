#include "core/masking/temperature_schedule.h"

#include <cmath>

namespace mt {

double Temperature(const TemperatureScheduleOptions& o, int64_t step) {
  if (step <= o.start_step) return o.start_value;
  if (step >= o.final_step) return o.final_value;
  const double progress =
      static_cast<double>(step - o.start_step) / static_cast<double>(o.final_step - o.start_step);
  return o.final_value + (o.start_value - o.final_value) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace mt
