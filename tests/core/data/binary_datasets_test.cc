#include "core/data/binary_datasets.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "tests/test_util.h"

namespace mt {
namespace {

// Writes a CIFAR-10 batch file whose image r has pixel (c, y, x) = (r + c + y + x) % 256.
void WriteCifarBatch(const std::string& path, int records, int label) {
  std::ofstream out(path, std::ios::binary);
  for (int r = 0; r < records; ++r) {
    out.put(static_cast<char>(label));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) out.put(static_cast<char>((r + c + y + x) % 256));
  }
}

TEST(BinaryDatasetsTest, Cifar10ReadsPixelsInChwOrder) {
  const std::string dir = test::TempDir() + "/cifar-10-batches-bin";
  std::filesystem::create_directories(dir);
  WriteCifarBatch(dir + "/test_batch.bin", 10000, 3);
  auto val = LoadCifar10(std::filesystem::path(dir).parent_path().string(), Split::kVal);
  ASSERT_TRUE(val.ok()) << val.status();
  EXPECT_EQ((*val)->size(), 10000);
  std::mt19937_64 rng(0);
  at::Tensor img = (*val)->Get(7, rng);
  EXPECT_EQ(img.sizes(), at::IntArrayRef({3, 32, 32}));
  EXPECT_NEAR(img[2][5][9].item<float>(), ((7 + 2 + 5 + 9) % 256) / 255.0, 1e-6);
}

TEST(BinaryDatasetsTest, MissingAndTruncatedFilesAreNamed) {
  const std::string dir = test::TempDir();
  auto missing = LoadCifar10(dir, Split::kTrain);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("data_batch_1.bin"), std::string::npos);
  WriteCifarBatch(dir + "/test_batch.bin", 9999, 0);
  auto cut = LoadCifar10(dir, Split::kVal);
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(cut.status().message().find("test_batch.bin"), std::string::npos);
}

TEST(BinaryDatasetsTest, Stl10IsTransposedFromColumnMajor) {
  const std::string dir = test::TempDir();
  {
    // Stored column-major per channel: byte (c, x, y) at c·9216 + x·96 + y. Put value 200 at (row 3, col 70).
    std::vector<char> img(3 * 96 * 96, 0);
    img[1 * 9216 + 70 * 96 + 3] = static_cast<char>(200);
    std::ofstream out(dir + "/test_X.bin", std::ios::binary);
    for (int i = 0; i < 2; ++i) out.write(img.data(), static_cast<std::streamsize>(img.size()));
  }
  auto val = LoadStl10(dir, Split::kVal);
  ASSERT_TRUE(val.ok()) << val.status();
  std::mt19937_64 rng(0);
  at::Tensor img = (*val)->Get(0, rng);
  EXPECT_NEAR(img[1][3][70].item<float>(), 200 / 255.0, 1e-6);
  EXPECT_EQ(img.sum().item<float>(), img[1][3][70].item<float>());
  EXPECT_EQ((*val)->size(), 2);
  std::filesystem::resize_file(dir + "/test_X.bin", 2 * 3 * 96 * 96 - 1);
  EXPECT_EQ(LoadStl10(dir, Split::kVal).status().code(), absl::StatusCode::kDataLoss);
}

TEST(BinaryDatasetsTest, CropFileReadsChannelMajorRecordsAndRejectsPartialOnes) {
  const std::string dir = test::TempDir();
  {
    // Three 4x4 images; image r has pixel (c, y, x) = 10r + 4c + y (x ignored) — 16 bytes per channel.
    std::ofstream out(dir + "/val.u8", std::ios::binary);
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 4; ++y)
          for (int x = 0; x < 4; ++x) out.put(static_cast<char>(10 * r + 4 * c + y));
  }
  auto val = LoadCropFile(dir, Split::kVal, 4);
  ASSERT_TRUE(val.ok()) << val.status();
  EXPECT_EQ((*val)->size(), 3);
  EXPECT_EQ((*val)->image_size(), 4);
  std::mt19937_64 rng(0);
  at::Tensor img = (*val)->Get(2, rng);
  ASSERT_EQ(img.sizes(), (at::IntArrayRef{3, 4, 4}));
  EXPECT_NEAR(img[1][3][0].item<float>(), (20 + 4 + 3) / 255.0, 1e-6);
  EXPECT_NEAR(img[2][0][3].item<float>(), (20 + 8 + 0) / 255.0, 1e-6);
  EXPECT_EQ(LoadCropFile(dir, Split::kTrain, 4).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(LoadCropFile(dir, Split::kVal, 3).status().code(), absl::StatusCode::kDataLoss);  // 144 B / 27 B
}

}  // namespace
}  // namespace mt
