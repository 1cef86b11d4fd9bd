#include "tests/test_util.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace mt::test {

const std::map<std::string, at::Tensor>& Reference() {
  static const std::map<std::string, at::Tensor> kArrays = [] {
    std::map<std::string, at::Tensor> arrays;
    std::ifstream in(MT_REFERENCE_FILE);
    if (!in) throw std::runtime_error("missing reference file " MT_REFERENCE_FILE);
    std::string header, values;
    while (std::getline(in, header) && std::getline(in, values)) {
      std::istringstream h(header), v(values);
      std::string name;
      int64_t ndim = 0;
      h >> name >> ndim;
      std::vector<int64_t> shape(ndim);
      for (auto& d : shape) h >> d;
      std::vector<double> data;
      double x;
      while (v >> x) data.push_back(x);
      arrays[name] = at::tensor(data, at::kDouble).reshape(shape);
    }
    return arrays;
  }();
  return kArrays;
}

at::Tensor Ref(const std::string& name) {
  auto it = Reference().find(name);
  if (it == Reference().end()) throw std::runtime_error("no reference array " + name);
  return it->second;
}

LatentCodec TinyLatentCodec(const std::vector<double>& steps) {
  LatentCodecOptions o;
  o.mae = TinyMaeOptions();  // 8×8 tiles, patch 2: L = 16
  o.latent_channels = 3;
  o.bottleneck_hidden = 8;
  at::manual_seed(5);
  LatentCodec codec(o);
  codec->eval();
  codec->BuildTables(steps);
  return codec;
}

MaskedAutoencoderOptions TinyMaeOptions() {
  MaskedAutoencoderOptions o;
  o.img_size = 8;
  o.patch_size = 2;
  o.embed_dim = 32;
  o.depth = 2;
  o.num_heads = 2;
  o.decoder_embed_dim = 16;
  o.decoder_depth = 1;
  o.decoder_num_heads = 2;
  return o;
}

MaskerOptions TinyMaskerOptions() {
  MaskerOptions o;
  o.img_size = 8;
  o.patch_size = 2;
  o.embed_dim = 16;
  o.depth = 1;
  o.num_heads = 2;
  return o;
}

std::string TempDir() {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("mt_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

ConvCodec TinyConvCodec(double base_step) {
  ConvCodecOptions o;
  o.hidden_channels = 8;
  o.latent_channels = 4;
  o.levels = 3;
  o.tile_size = 32;
  ConvCodec codec(o);
  torch::NoGradGuard no_grad;
  codec->log_steps.copy_(at::log(at::tensor({base_step, 4 * base_step, 16 * base_step}).view({3, 1}).expand({3, 4})));
  codec->BuildTables();
  return codec;
}

double GaussianUnitBinMass(double r, double sigma) {
  constexpr int kIntervals = 4000;
  const double h = 1.0 / kIntervals, pi = std::acos(-1.0);
  auto density = [&](double x) { return std::exp(-0.5 * x * x / (sigma * sigma)) / (sigma * std::sqrt(2.0 * pi)); };
  double sum = density(r - 0.5) + density(r + 0.5);
  for (int i = 1; i < kIntervals; ++i) sum += (i % 2 == 1 ? 4.0 : 2.0) * density(r - 0.5 + i * h);
  return sum * h / 3.0;
}

ConvCodec TinyHyperCodec(const std::vector<double>& steps, bool tables, int64_t checkerboard_channels) {
  ConvCodecOptions o;
  o.hidden_channels = 8;
  o.latent_channels = 4;
  o.levels = static_cast<int64_t>(steps.size());
  o.tile_size = 64;
  o.hyper_channels = 3;
  o.checkerboard_channels = checkerboard_channels;
  ConvCodec codec(o);
  torch::NoGradGuard no_grad;
  if (codec->context) codec->context->out->weight.normal_(0, 0.3);
  codec->log_steps.copy_(at::log(at::tensor(steps).view({o.levels, 1}).expand({o.levels, 4})));
  if (tables) {
    codec->BuildTables();
    codec->hyper->BuildTables();
  }
  return codec;
}

}  // namespace mt::test
