// Logging for core/ and the trainer CLI: spdlog where it is available, else (MT_LOG_MINIMAL) a
// small built-in "{}" formatter printing the same "[time] [level] message" lines. Why: LibTorch
// 2.x wheels ship their own fmt headers, which shadow the fmt that Debian's spdlog 1.10 needs, so
// the CUDA trainer build (scripts/gpu_build.sh) turns spdlog off.
// Thread-safety: each call writes one whole line; calls from several threads may interleave lines.
#pragma once

#ifndef MT_LOG_MINIMAL
#include <spdlog/spdlog.h>

namespace mt::log {
using spdlog::error;
using spdlog::info;
using spdlog::warn;
}  // namespace mt::log

#else
#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace mt::log {
namespace internal {

// Writes "[YYYY-mm-dd HH:MM:SS.mmm] [level] message" to stdout.
void Emit(const char* level, const std::string& message);

// Appends v; `spec` is what follows ':' in "{:spec}" (printf-style, used for floating values only).
template <typename T>
void Append(std::string& out, std::string_view spec, const T& v) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!spec.empty()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, ("%" + std::string(spec)).c_str(), static_cast<double>(v));
      out += buf;
      return;
    }
  }
  std::ostringstream s;
  s << v;
  out += s.str();
}

inline void FormatTo(std::string& out, std::string_view f) { out.append(f); }

// Replaces the first "{...}" of f by v and recurses on the rest.
template <typename T, typename... Rest>
void FormatTo(std::string& out, std::string_view f, const T& v, const Rest&... rest) {
  const size_t open = f.find('{');
  const size_t close = open == std::string_view::npos ? open : f.find('}', open);
  if (close == std::string_view::npos) {
    out.append(f);
    return;
  }
  out.append(f.substr(0, open));
  std::string_view inner = f.substr(open + 1, close - open - 1);
  Append(out, inner.empty() ? inner : inner.substr(1), v);
  FormatTo(out, f.substr(close + 1), rest...);
}

template <typename... Args>
std::string Format(std::string_view f, const Args&... args) {
  std::string out;
  FormatTo(out, f, args...);
  return out;
}

}  // namespace internal

template <typename... Args>
void info(std::string_view f, const Args&... args) { internal::Emit("info", internal::Format(f, args...)); }
template <typename... Args>
void warn(std::string_view f, const Args&... args) { internal::Emit("warning", internal::Format(f, args...)); }
template <typename... Args>
void error(std::string_view f, const Args&... args) { internal::Emit("error", internal::Format(f, args...)); }

}  // namespace mt::log
#endif
