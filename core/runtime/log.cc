#include "core/runtime/log.h"

#ifdef MT_LOG_MINIMAL
#include <chrono>
#include <ctime>
#include <mutex>

namespace mt::log::internal {

void Emit(const char* level, const std::string& message) {
  static std::mutex mu;
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  std::lock_guard<std::mutex> lock(mu);
  std::printf("[%s.%03d] [%s] %s\n", stamp, static_cast<int>(ms), level, message.c_str());
  std::fflush(stdout);
}

}  // namespace mt::log::internal
#endif
