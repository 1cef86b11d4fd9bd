#include "core/io/fingerprint.h"

#include <ATen/ATen.h>

#include <cstdio>

namespace mt {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL, kFnvPrime = 0x100000001b3ULL;

void Mix(uint64_t& h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= kFnvPrime;
  }
}

}  // namespace

namespace {
std::string Hex(uint64_t h) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}
}  // namespace

std::string ContentHash(std::string_view bytes) {
  uint64_t h = kFnvOffset;
  Mix(h, bytes.data(), bytes.size());
  return Hex(h);
}

std::string ModelFingerprint(const torch::nn::Module& module) {
  uint64_t h = kFnvOffset;
  auto add = [&](const std::string& name, const at::Tensor& t) {
    Mix(h, name.data(), name.size());
    for (int64_t s : t.sizes()) Mix(h, &s, sizeof s);
    at::Tensor c = t.detach().to(at::kCPU).to(at::kFloat).contiguous();
    Mix(h, c.data_ptr(), static_cast<size_t>(c.nbytes()));
  };
  for (const auto& p : module.named_parameters()) add(p.key(), p.value());
  for (const auto& b : module.named_buffers()) add(b.key(), b.value());
  return Hex(h);
}

}  // namespace mt
