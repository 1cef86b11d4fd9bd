#include "core/model/flops.h"

#include "core/model/subpixel_up.h"

namespace mt {
namespace {

// A k×k convolution from `in` to `out` channels, per output position.
double ConvFlops(double k, double in, double out) { return 2 * k * k * in * out; }

}  // namespace

double VitBlockFlops(double tokens, double width, double mlp_ratio) {
  const double matmuls = 2 * tokens * width * width * (3 + 1 + 2 * mlp_ratio);  // qkv, proj, fc1 + fc2
  const double attention = 4 * tokens * tokens * width;                          // QKᵀ and AV
  return matmuls + attention;
}

double MaskerFlops(const MaskerOptions& o) {
  const double pixels = static_cast<double>(o.img_size * o.img_size);
  const double patches = static_cast<double>(o.num_patches());
  if (o.kind == MaskerKind::kCnn) {
    const double c = static_cast<double>(o.cnn_channels), c2 = 2 * c;
    const double stem = pixels * (ConvFlops(3, o.in_chans, c) + ConvFlops(3, c, c));
    const double grid = patches * (ConvFlops(o.patch_size, c, c2) + o.cnn_grid_blocks * ConvFlops(3, c2, c2) +
                                   ConvFlops(1, c2, 1));
    return stem + grid;
  }
  const double d = static_cast<double>(o.embed_dim);
  const double embed = patches * ConvFlops(o.patch_size, o.in_chans, d);
  const double head = patches * 2 * (d * d * o.mlp_ratio + d * o.mlp_ratio);  // D → D·r → 1
  return embed + o.depth * VitBlockFlops(patches, d, o.mlp_ratio) + head;
}

double MaeEncoderFlops(const MaskedAutoencoderOptions& o, int64_t tokens) {
  const double t = static_cast<double>(tokens);
  const double embed = t * 2 * o.patch_dim() * o.embed_dim;
  const double to_decoder = (t + 1) * 2 * o.embed_dim * o.decoder_embed_dim;
  return embed + o.depth * VitBlockFlops(t + 1, o.embed_dim, o.mlp_ratio) + to_decoder;
}

double MaeDecoderFlops(const MaskedAutoencoderOptions& o) {
  const double l = static_cast<double>(o.num_patches());
  return o.decoder_depth * VitBlockFlops(l + 1, o.decoder_embed_dim, o.mlp_ratio) +
         l * 2 * o.decoder_embed_dim * o.patch_dim();
}

double ConvAnalysisFlopsPerPixel(const ConvCodecOptions& o) {
  const double n = static_cast<double>(o.hidden_channels), c = static_cast<double>(o.latent_channels);
  // Four 5×5 stride-2 convolutions; output positions per pixel 1/4, 1/16, 1/64, 1/256; a GDN
  // (a 1×1 n→n convolution) after each of the first three.
  return ConvFlops(5, 3, n) / 4 + ConvFlops(5, n, n) / 16 + ConvFlops(5, n, n) / 64 + ConvFlops(5, n, c) / 256 +
         ConvFlops(1, n, n) * (1.0 / 4 + 1.0 / 16 + 1.0 / 64);
}

double ConvSynthesisFlopsPerPixel(const ConvCodecOptions& o) {
  const double n = static_cast<double>(o.hidden_channels), c = static_cast<double>(o.latent_channels);
  // Each up-step at its input resolution (1/256, 1/64, 1/16, 1/4 positions per pixel): 25 taps per
  // input position and output channel when SubpixelUp runs its 4 phase convolutions, else a 3×3
  // convolution to 4× the channels (36 taps, 11 of them zero); an inverse GDN after each of the first three.
  auto up = [](double in, double out) {
    return out >= SubpixelUpImpl::kMinOutChannelsForPhaseConvs ? 2 * 25 * in * out : ConvFlops(3, in, 4 * out);
  };
  return up(c, n) / 256 + up(n, n) / 64 + up(n, n) / 16 + up(n, 3) / 4 + ConvFlops(1, n, n) * (1.0 / 64 + 1.0 / 16 + 1.0 / 4);
}

}  // namespace mt
