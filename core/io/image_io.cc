#include "core/io/image_io.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/io/atomic_file.h"
#include "core/io/png_writer.h"

namespace mt {
namespace {

// Decoded OpenCV matrix (any depth, 1/3/4 channels, BGR order) → (3, H, W) RGB float.
absl::StatusOr<at::Tensor> MatToTensor(const cv::Mat& decoded, const std::string& what) {
  if (decoded.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": not a decodable image"));
  cv::Mat rgb;
  switch (decoded.channels()) {
    case 1: cv::cvtColor(decoded, rgb, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(decoded, rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(decoded, rgb, cv::COLOR_BGRA2RGB); break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(what, ": unsupported channel count ", decoded.channels()));
  }
  double scale = 1.0;
  switch (rgb.depth()) {
    case CV_8U: scale = 1.0 / 255.0; break;
    case CV_16U: scale = 1.0 / 65535.0; break;
    case CV_32F: scale = 1.0; break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(what, ": unsupported pixel depth ", rgb.depth()));
  }
  cv::Mat f;
  rgb.convertTo(f, CV_32FC3, scale);
  at::Tensor hwc = at::from_blob(f.data, {f.rows, f.cols, 3}, at::kFloat);
  return hwc.permute({2, 0, 1}).clone().clamp_(0.0, 1.0);
}

}  // namespace

absl::StatusOr<at::Tensor> LoadImageRgb(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return absl::NotFoundError(absl::StrCat("image '", path, "' does not exist or is not a file"));
  return MatToTensor(cv::imread(path, cv::IMREAD_UNCHANGED), absl::StrCat("image '", path, "'"));
}

absl::StatusOr<at::Tensor> DecodeImageRgb(std::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("image bytes are empty");
  cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("image bytes: ", e.what()));
  }
  return MatToTensor(decoded, "image bytes");
}

std::vector<at::Tensor> EvenCrops(const at::Tensor& image, int64_t size, int64_t per_image) {
  if (size <= 0) return {image};
  const int64_t h = image.size(1), w = image.size(2);
  if (h < size || w < size) return {};
  const auto side = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(per_image))));
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < side && static_cast<int64_t>(out.size()) < per_image; ++i)
    for (int64_t j = 0; j < side && static_cast<int64_t>(out.size()) < per_image; ++j) {
      const int64_t y = side == 1 ? 0 : i * (h - size) / (side - 1), x = side == 1 ? 0 : j * (w - size) / (side - 1);
      out.push_back(image.narrow(1, y, size).narrow(2, x, size).contiguous());
    }
  return out;
}

at::Tensor CenterCropResize(const at::Tensor& image, int64_t size) {
  TORCH_CHECK(image.dim() == 3 && image.size(0) == 3 && size > 0, "CenterCropResize expects (3, H, W)");
  const int64_t side = std::min(image.size(1), image.size(2));
  at::Tensor crop = image.narrow(1, (image.size(1) - side) / 2, side)
                        .narrow(2, (image.size(2) - side) / 2, side)
                        .permute({1, 2, 0}).to(at::kFloat).contiguous();
  cv::Mat src(static_cast<int>(side), static_cast<int>(side), CV_32FC3, crop.data_ptr());
  cv::Mat dst;
  const int s = static_cast<int>(size);
  cv::resize(src, dst, cv::Size(s, s), 0, 0, side > size ? cv::INTER_AREA : cv::INTER_LINEAR);
  return at::from_blob(dst.data, {s, s, 3}, at::kFloat).permute({2, 0, 1}).clone();
}

namespace {

// (3, H, W) float → (H, W, 3) bytes: clamped to [0, 1], scaled to 0..255 and rounded (one copy,
// then in place: a 12 MP image is 144 MB of floats per pass).
at::Tensor ToHwcBytes(const at::Tensor& image) {
  return image.detach().to(at::kFloat).cpu().clamp(0, 1).mul_(255.0).round_().to(at::kByte).permute({1, 2, 0})
      .contiguous();
}

absl::Status CheckRgb(const at::Tensor& image, const char* caller) {
  if (image.dim() == 3 && image.size(0) == 3) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(caller, " expects (3, H, W), got ", c10::str(image.sizes())));
}

}  // namespace

absl::StatusOr<std::string> EncodePng(const at::Tensor& image) {
  if (absl::Status s = CheckRgb(image, "EncodePng"); !s.ok()) return s;
  const at::Tensor hwc = ToHwcBytes(image);
  return EncodePngRgb8(hwc.data_ptr<uint8_t>(), hwc.size(0), hwc.size(1));
}

at::Tensor QuantizeTo8Bit(const at::Tensor& image) {
  return image.detach().to(at::kFloat).clamp(0, 1).mul(255.0).round().div(255.0);
}

absl::StatusOr<std::string> EncodeImage(const at::Tensor& image, const std::string& format, int quality) {
  if (absl::Status s = CheckRgb(image, "EncodeImage"); !s.ok()) return s;
  if (format == "png") return EncodePng(image);
  std::vector<int> params;
  if (format == "jpeg" || format == "webp") {
    if (quality < 1 || quality > 100)
      return absl::InvalidArgumentError(absl::StrCat("quality must be 1-100, got ", quality));
    params = {format == "jpeg" ? cv::IMWRITE_JPEG_QUALITY : cv::IMWRITE_WEBP_QUALITY, quality};
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown image format '", format, "' (png|jpeg|webp)"));
  }
  const at::Tensor hwc = ToHwcBytes(image);
  cv::Mat rgb(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3, hwc.data_ptr());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> out;
  if (!cv::imencode(format == "jpeg" ? ".jpg" : ".webp", bgr, out, params))
    return absl::InternalError(absl::StrCat(format, " encoding failed"));
  return std::string(out.begin(), out.end());
}

absl::Status SavePng(const std::string& path, const at::Tensor& image) {
  absl::StatusOr<std::string> png = EncodePng(image);
  if (!png.ok()) return png.status();
  return WriteFileAtomic(path, *png);
}

}  // namespace mt
