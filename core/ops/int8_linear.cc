#include "core/ops/int8_linear.h"

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

#include "core/runtime/cpu_features.h"

#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace mt {
namespace {

thread_local bool t_int8_linears = false;

// The engine chosen once for the process (prepacking follows the global engine).
at::QEngine ChosenEngine() {
  static const at::QEngine engine = [] {
    const std::vector<at::QEngine>& supported = at::globalContext().supportedQEngines();
    for (at::QEngine e : {at::QEngine::FBGEMM, at::QEngine::ONEDNN})
      for (at::QEngine s : supported)
        if (s == e) {
          at::globalContext().setQEngine(e);
          return e;
        }
    return at::QEngine::NoQEngine;
  }();
  return engine;
}

// Packed int8 weights per fp32 weight. The entry holds the weight tensor, so its storage (and
// the key) stays unique while cached.
struct Packed {
  at::Tensor weight;
  c10::IValue params;
};

std::mutex g_mutex;
std::map<const c10::TensorImpl*, Packed> g_packed;

c10::IValue PackedFor(const torch::nn::Linear& linear) {
  const at::Tensor& w = linear->weight;
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_packed.find(w.unsafeGetTensorImpl());
  if (it != g_packed.end()) return it->second.params;
  ChosenEngine();
  const at::Tensor cw = w.detach().contiguous();
  // Symmetric per-tensor scale: the largest |w| maps to 127.
  const double scale = std::max(cw.abs().max().item<double>(), 1e-12) / 127.0;
  const at::Tensor qw = at::quantize_per_tensor(cw, scale, 0, at::kQInt8);
  static const c10::OperatorHandle prepack =
      c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "");
  torch::jit::Stack stack{qw, linear->bias.defined() ? c10::IValue(linear->bias.detach().contiguous()) : c10::IValue()};
  prepack.callBoxed(&stack);
  g_packed.emplace(w.unsafeGetTensorImpl(), Packed{w, stack[0]});
  return stack[0];
}

}  // namespace

bool Int8LinearAvailable() { return ChosenEngine() != at::QEngine::NoQEngine; }

bool Int8ReducesActivationRange() {
  static const bool reduce = !CpuHasVnni();
  return reduce;
}

Int8LinearScope::Int8LinearScope(bool enabled) : previous_(std::exchange(t_int8_linears, enabled)) {}
Int8LinearScope::~Int8LinearScope() { t_int8_linears = previous_; }

at::Tensor ApplyLinear(const torch::nn::Linear& linear, const at::Tensor& x) {
  if (!t_int8_linears || !x.device().is_cpu() || x.scalar_type() != at::kFloat || !Int8LinearAvailable())
    return linear.ptr()->forward(x);
  static const c10::OperatorHandle dynamic =
      c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_dynamic", "");
  const int64_t in = x.size(-1);
  std::vector<int64_t> shape = x.sizes().vec();
  torch::jit::Stack stack{x.reshape({-1, in}).contiguous(), PackedFor(linear), Int8ReducesActivationRange()};
  dynamic.callBoxed(&stack);
  shape.back() = linear->weight.size(0);
  return stack[0].toTensor().view(shape);
}

}  // namespace mt
