// Small helpers shared by the daemons' main() functions (flags stay in each main.cc).
#pragma once

#include <cstdlib>
#include <string>

namespace mt::server {

// The flag's value, else the environment variable's (for container secrets), else "".
inline std::string FlagOrEnv(const std::string& flag_value, const char* env) {
  if (!flag_value.empty()) return flag_value;
  const char* v = std::getenv(env);
  return v ? v : "";
}

}  // namespace mt::server
