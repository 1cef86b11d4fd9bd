#include "core/model/conv_codec.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/modules/conv.h>

#include "core/model/gdn.h"
#include "core/model/subpixel_up.h"

namespace mt {
namespace {

torch::nn::Conv2d Down(int64_t in, int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 5).stride(2).padding(2));
}

// ConvTranspose2d(in, out, 5, stride 2, padding 2, output_padding 1), computed ~6× faster.
SubpixelUp Up(int64_t in, int64_t out) {
  SubpixelUpOptions o;
  o.in_channels = in;
  o.out_channels = out;
  return SubpixelUp(o);
}

Gdn MakeGdn(int64_t channels, bool inverse) {
  GdnOptions o;
  o.channels = channels;
  o.inverse = inverse;
  return Gdn(o);
}

}  // namespace

ConvCodecImpl::ConvCodecImpl(const ConvCodecOptions& o) : options_(o) {
  TORCH_CHECK(o.hidden_channels > 0 && o.latent_channels > 0 && o.levels > 0, "conv codec sizes must be > 0");
  TORCH_CHECK(o.tile_size >= kConvCodecDownsample && o.tile_size % kConvCodecDownsample == 0,
              "conv codec tile_size must be a positive multiple of ", kConvCodecDownsample);
  const int64_t n = o.hidden_channels, c = o.latent_channels;
  analysis = register_module("analysis", torch::nn::Sequential(Down(3, n), MakeGdn(n, false), Down(n, n), MakeGdn(n, false),
                                                               Down(n, n), MakeGdn(n, false), Down(n, c)));
  synthesis = register_module("synthesis", torch::nn::Sequential(Up(c, n), MakeGdn(n, true), Up(n, n), MakeGdn(n, true),
                                                                 Up(n, n), MakeGdn(n, true), Up(n, 3)));
  FactorizedPriorOptions po;
  po.channels = c;
  prior = register_module("prior", FactorizedPrior(po));
  if (o.hyper_channels > 0) {
    HyperpriorOptions ho;
    ho.latent_channels = c;
    ho.hidden_channels = n;
    ho.side_channels = o.hyper_channels;
    ho.scale_count = o.hyper_scales;
    ho.side_entries = o.hyper_side_entries;
    ho.scale_entries = o.hyper_scale_entries;
    hyper = register_module("hyper", Hyperprior(ho));
  }
  TORCH_CHECK(o.checkerboard_channels == 0 || o.hyper_channels > 0, "a checkerboard context needs a hyperprior");
  if (o.checkerboard_channels > 0) {
    CheckerboardContextOptions co;
    co.latent_channels = c;
    co.hidden_channels = o.checkerboard_channels;
    context = register_module("context", CheckerboardContext(co));
  }
  CodingTablesOptions to;
  to.levels = o.levels;
  to.channels = c;
  to.table_width = o.table_width;
  to.context_buckets = o.context_buckets;
  to.context_width = o.context_width;
  to.table_entries = o.table_entries;
  to.context_entries = o.context_entries;
  tables = register_module("tables", CodingTables(to));
  log_steps = register_parameter("log_steps", at::zeros({o.levels, c}));
}

namespace {

// Inference on the CPU runs the analysis channels-last: its oneDNN 5x5 convolutions and the GDNs'
// 1x1s are ~10-20 % faster in that layout. The synthesis is ~10 % faster from a contiguous
// (N, C, h, w) input than from the channels-last view the coder passes (its pixel shuffles write
// the default layout). Results are bit-identical (mt_bench_codec, docs/RESULTS.md). Training
// keeps whatever layout it is given (its backward was not measured).
at::Tensor InInferenceLayout(const at::Tensor& x, at::MemoryFormat format) {
  if (!x.is_cpu() || at::GradMode::is_enabled()) return x;
  return x.contiguous(format);
}

}  // namespace

at::Tensor ConvCodecImpl::Analyze(const at::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == 3 && images.size(2) % kConvCodecDownsample == 0 &&
                  images.size(3) % kConvCodecDownsample == 0,
              "conv codec Analyze expects (B, 3, 16h, 16w), got ", images.sizes());
  // Centred: the transforms have biases, but start balanced.
  return analysis->forward(InInferenceLayout(images - 0.5, at::MemoryFormat::ChannelsLast));
}

at::Tensor ConvCodecImpl::AnalyzePositions(const at::Tensor& images) {
  const at::Tensor y = Analyze(images);  // (B, C, h, w)
  return y.permute({0, 2, 3, 1}).reshape({y.size(0), -1, y.size(1)}).contiguous();
}

at::Tensor ConvCodecImpl::Synthesize(const at::Tensor& latents) {
  TORCH_CHECK(latents.dim() == 4 && latents.size(1) == options_.latent_channels,
              "conv codec Synthesize expects (B, C, h, w), got ", latents.sizes());
  return synthesis->forward(InInferenceLayout(latents, at::MemoryFormat::Contiguous)) + 0.5;
}

at::Tensor ConvCodecImpl::Steps() const { return at::exp(log_steps); }

void ConvCodecImpl::BuildTables(double tail_mass) {
  const at::Tensor steps = Steps().detach().cpu().to(at::kDouble).contiguous();
  std::vector<std::vector<FrequencyTable>> per_level;
  for (int64_t s = 0; s < options_.levels; ++s) {
    const double* row = steps[s].data_ptr<double>();
    std::vector<double> level_steps(row, row + options_.latent_channels);
    per_level.push_back(QuantizePmfs(prior->IntegerPmfs(level_steps, tail_mass)));
  }
  tables->SetFactorized(per_level);
}

ConvCodecOptions ConvCodecImpl::options() const {
  ConvCodecOptions o = options_;
  o.table_width = tables->options().table_width;
  o.context_buckets = tables->options().context_buckets;
  o.context_width = tables->options().context_width;
  o.table_entries = tables->options().table_entries;
  o.context_entries = tables->options().context_entries;
  if (hyper) {
    o.hyper_scales = hyper->options().scale_count;
    o.hyper_side_entries = hyper->options().side_entries;
    o.hyper_scale_entries = hyper->options().scale_entries;
  }
  return o;
}

}  // namespace mt
