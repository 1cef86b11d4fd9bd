#include "core/io/visualization.h"

#include <ATen/ATen.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "core/model/patchify.h"

namespace mt {

at::Tensor MaskPicture(const at::Tensor& keep, int64_t patch_size, int64_t grid) {
  at::Tensor m = UpsamplePatchMask(keep.to(at::kFloat).reshape({1, -1}), patch_size, grid, grid);
  return m[0].expand({3, -1, -1}).contiguous();
}

at::Tensor MaskOverlay(const at::Tensor& image, const at::Tensor& keep, int64_t patch_size) {
  const int64_t grid = image.size(1) / patch_size;
  at::Tensor m = MaskPicture(keep, patch_size, grid);
  at::Tensor tint = at::zeros_like(image);
  tint[0].fill_(0.35);
  at::Tensor dimmed = 0.3 * image + tint;
  return (m * image + (1 - m) * dimmed).clamp(0, 1);
}

namespace {

// 8-bit 3-channel Mat → (3, H, W) float in [0,1] (channel order kept as is).
at::Tensor FromMat(const cv::Mat& mat) {
  at::Tensor hwc = at::from_blob(mat.data, {mat.rows, mat.cols, 3}, at::kByte).clone();
  return hwc.permute({2, 0, 1}).to(at::kFloat).div(255).contiguous();
}

}  // namespace

at::Tensor HeatMap(const at::Tensor& values, double max_value) {
  TORCH_CHECK(values.dim() == 2 && max_value > 0, "HeatMap: values (H, W) and max_value > 0");
  at::Tensor levels = values.to(at::kFloat).div(max_value).clamp(0, 1).mul(255).round().to(at::kByte).contiguous();
  cv::Mat gray(static_cast<int>(levels.size(0)), static_cast<int>(levels.size(1)), CV_8UC1, levels.data_ptr());
  cv::Mat bgr, rgb;
  cv::applyColorMap(gray, bgr, cv::COLORMAP_TURBO);
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return FromMat(rgb);
}

at::Tensor Captioned(const at::Tensor& panel, const std::string& caption, double scale_max) {
  const int width = static_cast<int>(panel.size(2));
  const double font = std::clamp(width / 500.0, 0.3, 2.5);
  const int line = static_cast<int>(std::ceil(22 * font)), margin = std::max(2, line / 5);
  // The text shrinks to fit the panel's width; the strip (and so PanelRow's sizes) does not.
  int baseline = 0;
  const cv::Size text = cv::getTextSize(caption, cv::FONT_HERSHEY_SIMPLEX, font, 1, &baseline);
  const double text_font = text.width > width - 2 * margin ? font * (width - 2 * margin) / text.width : font;
  const int strip = 2 * line + 2 * margin;
  cv::Mat legend(strip, width, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(legend, caption, cv::Point(margin, margin + static_cast<int>(16 * font)), cv::FONT_HERSHEY_SIMPLEX,
              text_font, cv::Scalar(0, 0, 0), std::max(1, static_cast<int>(std::lround(text_font))), cv::LINE_AA);
  at::Tensor out = at::cat({panel.to(at::kFloat), FromMat(legend)}, 1);
  if (scale_max > 0 && width > 2 * margin) {
    const at::Tensor ramp = at::linspace(0, scale_max, width - 2 * margin).unsqueeze(0).expand({line - margin, -1});
    out.narrow(1, panel.size(1) + line + margin, line - margin).narrow(2, margin, width - 2 * margin).copy_(
        HeatMap(ramp.contiguous(), scale_max));
  }
  return out;
}

at::Tensor PanelRow(const std::vector<at::Tensor>& panels, int64_t scale, int64_t gap) {
  TORCH_CHECK(!panels.empty(), "PanelRow needs at least one panel");
  std::vector<at::Tensor> parts;
  for (size_t i = 0; i < panels.size(); ++i) {
    at::Tensor big = panels[i].to(at::kFloat).repeat_interleave(scale, 1).repeat_interleave(scale, 2);
    if (i > 0) parts.push_back(at::ones({3, big.size(1), gap}));
    parts.push_back(big);
  }
  return at::cat(parts, 2);
}

at::Tensor StackRows(const std::vector<at::Tensor>& rows, int64_t gap) {
  TORCH_CHECK(!rows.empty(), "StackRows needs at least one row");
  int64_t width = 0;
  for (const at::Tensor& r : rows) width = std::max(width, r.size(2));
  std::vector<at::Tensor> parts;
  for (const at::Tensor& r : rows) {
    if (!parts.empty()) parts.push_back(at::ones({3, gap, width}));
    parts.push_back(at::constant_pad_nd(r.to(at::kFloat), {0, width - r.size(2)}, 1.0));
  }
  return at::cat(parts, 1);
}

}  // namespace mt
