#include "core/data/synthetic.h"

#include <ATen/ATen.h>

namespace mt {
namespace {

class SyntheticDataset final : public ImageDataset {
 public:
  SyntheticDataset(int64_t count, int64_t size) : count_(count), size_(size) {}
  int64_t size() const override { return count_; }
  int64_t image_size() const override { return size_; }
  at::Tensor Get(int64_t index, std::mt19937_64&) const override {
    at::Generator g = at::detail::createCPUGenerator(static_cast<uint64_t>(index) + 1);
    at::Tensor c = at::rand({3, 4}, g);
    at::Tensor y = at::linspace(0, 1, size_).reshape({1, size_, 1});
    at::Tensor x = at::linspace(0, 1, size_).reshape({1, 1, size_});
    at::Tensor img = c.select(1, 0).reshape({3, 1, 1}) * y + c.select(1, 1).reshape({3, 1, 1}) * x +
                     c.select(1, 2).reshape({3, 1, 1}) * 0.3;
    at::Tensor corners = (at::rand({4}, g) * static_cast<double>(size_)).to(at::kLong);
    const int64_t y0 = std::min(corners[0].item<int64_t>(), corners[1].item<int64_t>());
    const int64_t y1 = std::max(corners[0].item<int64_t>(), corners[1].item<int64_t>());
    const int64_t x0 = std::min(corners[2].item<int64_t>(), corners[3].item<int64_t>());
    const int64_t x1 = std::max(corners[2].item<int64_t>(), corners[3].item<int64_t>());
    img.narrow(1, y0, y1 - y0).narrow(2, x0, x1 - x0).copy_(c.select(1, 3).reshape({3, 1, 1}).expand({3, y1 - y0, x1 - x0}));
    return img.clamp(0, 1);
  }

 private:
  int64_t count_, size_;
};

}  // namespace

std::unique_ptr<ImageDataset> MakeSyntheticDataset(int64_t count, int64_t size) {
  return std::make_unique<SyntheticDataset>(count, size);
}

}  // namespace mt
