#include "core/io/image_io.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "core/metrics/image_metrics.h"
#include "tests/test_util.h"

namespace mt {
namespace {

TEST(ImageIoTest, PngRoundTripIsExactOn8BitValues) {
  at::manual_seed(4);
  at::Tensor img = at::randint(0, 256, {3, 7, 9}).to(at::kFloat) / 255.0;
  const std::string path = test::TempDir() + "/x.png";
  ASSERT_TRUE(SavePng(path, img).ok());
  auto back = LoadImageRgb(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(at::allclose(*back, img, 0, 1e-7));
}

TEST(ImageIoTest, ChannelOrderIsRgb) {
  // OpenCV stores BGR: a pure-blue BGR pixel must come out as (0, 0, 1) in RGB.
  cv::Mat bgr(2, 2, CV_8UC3, cv::Scalar(255, 0, 0));
  std::vector<uchar> png;
  ASSERT_TRUE(cv::imencode(".png", bgr, png));
  auto img = DecodeImageRgb(std::string(png.begin(), png.end()));
  ASSERT_TRUE(img.ok());
  EXPECT_EQ((*img)[2][0][0].item<float>(), 1.f);
  EXPECT_EQ((*img)[0][0][0].item<float>(), 0.f);
}

TEST(ImageIoTest, GreyAlphaAnd16BitAreConverted) {
  std::vector<uchar> buf;
  cv::Mat grey(3, 3, CV_8UC1, cv::Scalar(51));
  ASSERT_TRUE(cv::imencode(".png", grey, buf));
  auto g = DecodeImageRgb(std::string(buf.begin(), buf.end()));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->sizes(), at::IntArrayRef({3, 3, 3}));
  EXPECT_NEAR((*g)[1][2][2].item<float>(), 0.2f, 1e-6);

  cv::Mat deep(2, 2, CV_16UC3, cv::Scalar(0, 32768, 65535));
  ASSERT_TRUE(cv::imencode(".png", deep, buf));
  auto d = DecodeImageRgb(std::string(buf.begin(), buf.end()));
  ASSERT_TRUE(d.ok());
  EXPECT_NEAR((*d)[0][0][0].item<float>(), 1.0f, 1e-6);              // R = 65535
  EXPECT_NEAR((*d)[1][0][0].item<float>(), 32768.f / 65535.f, 1e-6);  // G

  cv::Mat rgba(2, 2, CV_8UC4, cv::Scalar(0, 0, 255, 7));
  ASSERT_TRUE(cv::imencode(".png", rgba, buf));
  auto a = DecodeImageRgb(std::string(buf.begin(), buf.end()));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(0), 3);
  EXPECT_EQ((*a)[0][1][1].item<float>(), 1.f);
}

TEST(ImageIoTest, BadInputGivesStatus) {
  EXPECT_EQ(DecodeImageRgb("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeImageRgb("definitely not an image").status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<uchar> png;
  cv::imencode(".png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)), png);
  EXPECT_FALSE(DecodeImageRgb(std::string(png.begin(), png.begin() + 20)).ok()) << "truncated PNG";
  EXPECT_EQ(LoadImageRgb("/nonexistent/file.png").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(EncodePng(at::zeros({4, 2, 2})).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ImageIoTest, JpegAndWebpShrinkWithQualityAndDecode) {
  at::manual_seed(8);
  // A smooth picture with some texture, 64×48.
  at::Tensor y = at::linspace(0, 1, 48).view({1, 48, 1}), x = at::linspace(0, 1, 64).view({1, 1, 64});
  at::Tensor image = at::cat({y.expand({1, 48, 64}), x.expand({1, 48, 64}), (0.5 + 0.1 * at::randn({1, 48, 64})).clamp(0, 1)});
  for (const char* format : {"jpeg", "webp"}) {
    absl::StatusOr<std::string> low = EncodeImage(image, format, 10), high = EncodeImage(image, format, 90);
    ASSERT_TRUE(low.ok() && high.ok()) << format;
    EXPECT_LT(low->size(), high->size()) << format;
    absl::StatusOr<at::Tensor> back = DecodeImageRgb(*high);
    ASSERT_TRUE(back.ok()) << format;
    EXPECT_EQ(back->sizes(), image.sizes());
    EXPECT_GT(Psnr(image.unsqueeze(0), back->unsqueeze(0))[0].item<double>(), 25.0) << format;
  }
  EXPECT_EQ(EncodeImage(image, "gif", 50).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeImage(image, "jpeg", 0).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mt
