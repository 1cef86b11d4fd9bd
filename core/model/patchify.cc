#include "core/model/patchify.h"

#include <ATen/ATen.h>

namespace mt {

at::Tensor Patchify(const at::Tensor& images, int64_t p) {
  TORCH_CHECK(images.dim() == 4, "Patchify expects (B, C, H, W)");
  const int64_t b = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  TORCH_CHECK(h % p == 0 && w % p == 0, "Patchify: ", h, "x", w, " not divisible by patch ", p);
  const int64_t gh = h / p, gw = w / p;
  // (B, C, gh, p, gw, q) → (B, gh, gw, p, q, C)
  return images.reshape({b, c, gh, p, gw, p})
      .permute({0, 2, 4, 3, 5, 1})
      .reshape({b, gh * gw, p * p * c});
}

at::Tensor Unpatchify(const at::Tensor& patches, int64_t p, int64_t gh, int64_t gw,
                      int64_t c) {
  TORCH_CHECK(patches.dim() == 3 && patches.size(1) == gh * gw && patches.size(2) == p * p * c,
              "Unpatchify: expected (B, ", gh * gw, ", ", p * p * c, "), got ", patches.sizes());
  const int64_t b = patches.size(0);
  return patches.reshape({b, gh, gw, p, p, c})
      .permute({0, 5, 1, 3, 2, 4})
      .reshape({b, c, gh * p, gw * p});
}

at::Tensor UpsamplePatchMask(const at::Tensor& mask, int64_t p, int64_t gh, int64_t gw) {
  TORCH_CHECK(mask.dim() == 2 && mask.size(1) == gh * gw, "UpsamplePatchMask: bad shape ",
              mask.sizes());
  return mask.reshape({mask.size(0), 1, gh, 1, gw, 1})
      .expand({mask.size(0), 1, gh, p, gw, p})
      .reshape({mask.size(0), 1, gh * p, gw * p});
}

}  // namespace mt
