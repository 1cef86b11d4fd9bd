// Image-folder crops: max_crop_side = img_size gives native-resolution crops only (a 1-pixel
// checkerboard keeps its pure 0/1 pixels), the default draws larger crops that area averaging
// turns grey.
#include "core/data/image_folder.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "tests/test_util.h"

namespace mt {
namespace {

std::string CheckerboardFolder() {
  const std::string dir = test::TempDir() + "/checkerboard";
  std::filesystem::create_directories(dir + "/train");
  cv::Mat board(96, 128, CV_8UC3);
  for (int y = 0; y < board.rows; ++y)
    for (int x = 0; x < board.cols; ++x) board.at<cv::Vec3b>(y, x) = cv::Vec3b::all((x + y) % 2 ? 255 : 0);
  cv::imwrite(dir + "/train/board.png", board);
  return dir;
}

// Fraction of pixels of `samples` crops that are neither 0 nor 1.
double GreyFraction(const ImageDataset& data, int64_t samples) {
  std::mt19937_64 rng(3);
  double grey = 0, total = 0;
  for (int64_t i = 0; i < samples; ++i) {
    const at::Tensor crop = data.Get(i, rng);
    EXPECT_EQ(crop.sizes(), (std::vector<int64_t>{3, 16, 16}));
    grey += ((crop > 0.01) & (crop < 0.99)).sum().item<double>();
    total += static_cast<double>(crop.numel());
  }
  return grey / total;
}

TEST(ImageFolderTest, MaxCropSideOfImgSizeGivesNativeCropsOnly) {
  ImageFolderOptions o;
  o.img_size = 16;
  o.crops_per_image = 40;
  o.max_crop_side = 16;
  absl::StatusOr<std::unique_ptr<ImageDataset>> native = LoadImageFolder(CheckerboardFolder(), Split::kTrain, o);
  ASSERT_TRUE(native.ok()) << native.status();
  EXPECT_EQ(GreyFraction(**native, 40), 0.0);
  o.max_crop_side = 0;  // crops up to the whole 96-pixel short side, area-averaged
  absl::StatusOr<std::unique_ptr<ImageDataset>> zoomed = LoadImageFolder(CheckerboardFolder(), Split::kTrain, o);
  ASSERT_TRUE(zoomed.ok()) << zoomed.status();
  EXPECT_GT(GreyFraction(**zoomed, 40), 0.5);
}

}  // namespace
}  // namespace mt
