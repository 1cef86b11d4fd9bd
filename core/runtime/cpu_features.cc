#include "core/runtime/cpu_features.h"

#include <fstream>
#include <set>
#include <sstream>

namespace mt {
namespace {

// The first "flags" line of /proc/cpuinfo as a set (empty where the file is missing).
const std::set<std::string>& CpuFlags() {
  static const std::set<std::string> kFlags = [] {
    std::set<std::string> flags;
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream words(line.substr(line.find(':') + 1));
      for (std::string w; words >> w;) flags.insert(w);
      break;
    }
    return flags;
  }();
  return kFlags;
}

}  // namespace

bool CpuHasFlag(const std::string& flag) { return CpuFlags().count(flag) > 0; }

bool CpuHasNativeBf16() { return CpuFlags().count("avx512_bf16") > 0 || CpuFlags().count("amx_bf16") > 0; }

bool CpuHasVnni() { return CpuFlags().count("avx512_vnni") > 0 || CpuFlags().count("avx_vnni") > 0; }

std::string CpuSpeedFlags() {
  std::string out;
  for (const char* f : {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8"})
    if (CpuFlags().count(f) > 0) out += (out.empty() ? "" : " ") + std::string(f);
  return out.empty() ? "none of avx2/avx512f/avx512_bf16/amx_bf16" : out;
}

}  // namespace mt
