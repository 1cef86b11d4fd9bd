// The parallel PNG writer against OpenCV's PNG decoder: exact pixels for sizes that give one and
// several strips, the same bytes for any thread count, sizes like OpenCV's own encoder, bad sizes.
#include "core/io/png_writer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace mt {
namespace {

// A height × width × 3 RGB byte image: smooth gradients plus seeded noise, like a photo.
at::Tensor TestImage(int64_t height, int64_t width, uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor y = at::arange(height, at::kFloat).view({height, 1, 1}) / std::max<int64_t>(1, height - 1);
  const at::Tensor x = at::arange(width, at::kFloat).view({1, width, 1}) / std::max<int64_t>(1, width - 1);
  const at::Tensor c = at::tensor({0.2f, 0.5f, 0.8f}).view({1, 1, 3});
  const at::Tensor v = (y * 120 + x * 90 + c * 40 + at::randn({height, width, 3}) * 6).clamp(0, 255);
  return v.round().to(at::kByte).contiguous();
}

// Decodes `png` with OpenCV and returns H × W × 3 RGB bytes.
at::Tensor DecodeRgb(const std::string& png) {
  const std::vector<uchar> bytes(png.begin(), png.end());
  const cv::Mat bgr = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  EXPECT_FALSE(bgr.empty());
  EXPECT_EQ(bgr.type(), CV_8UC3);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return at::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, at::kByte).clone();
}

TEST(PngWriterTest, OpenCvDecodesTheExactPixelsWithOneOrManyStrips) {
  // 2,500 rows of 700 px are 3 strips of ~2 MiB; the others fit one.
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 5}, {37, 1}, {1, 1001}, {2500, 700}}) {
    const at::Tensor rgb = TestImage(h, w, static_cast<uint64_t>(h * 7 + w));
    absl::StatusOr<std::string> png = EncodePngRgb8(rgb.data_ptr<uint8_t>(), h, w);
    ASSERT_TRUE(png.ok()) << png.status();
    EXPECT_TRUE(at::equal(DecodeRgb(*png), rgb)) << h << "x" << w;
  }
}

TEST(PngWriterTest, SameBytesForAnyThreadCount) {
  const at::Tensor rgb = TestImage(3000, 640, 3);  // 5 strips
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  absl::StatusOr<std::string> one = EncodePngRgb8(rgb.data_ptr<uint8_t>(), 3000, 640);
  at::set_num_threads(2);
  absl::StatusOr<std::string> two = EncodePngRgb8(rgb.data_ptr<uint8_t>(), 3000, 640);
  at::set_num_threads(threads);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(*one, *two);
}

TEST(PngWriterTest, FileSizeWithinTwoPercentOfOpenCvsEncoder) {
  // Same filter, level and strategy as OpenCV's default: only the strips' restarts differ.
  const int64_t h = 2000, w = 1500;
  const at::Tensor rgb = TestImage(h, w, 9);
  absl::StatusOr<std::string> png = EncodePngRgb8(rgb.data_ptr<uint8_t>(), h, w);
  ASSERT_TRUE(png.ok());
  cv::Mat bgr;
  cv::cvtColor(cv::Mat(static_cast<int>(h), static_cast<int>(w), CV_8UC3, rgb.data_ptr()), bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> reference;
  ASSERT_TRUE(cv::imencode(".png", bgr, reference));
  const double ratio = static_cast<double>(png->size()) / static_cast<double>(reference.size());
  EXPECT_NEAR(ratio, 1.0, 0.02) << png->size() << " vs OpenCV " << reference.size();
}

TEST(PngWriterTest, RefusesEmptyAndOversizedImages) {
  const uint8_t pixel[3] = {1, 2, 3};
  for (const auto& [h, w] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 0}, {-1, 4}, {1, int64_t{1} << 29}}) {
    absl::StatusOr<std::string> png = EncodePngRgb8(pixel, h, w);
    EXPECT_EQ(png.status().code(), absl::StatusCode::kInvalidArgument) << h << "x" << w;
  }
}

}  // namespace
}  // namespace mt
