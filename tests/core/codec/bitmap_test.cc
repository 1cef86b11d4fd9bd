#include "core/codec/bitmap.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace mt {
namespace {

TEST(BitmapTest, PacksLsbFirstAndRoundTrips) {
  // Patches 0, 2, 3, 8, 9 of 10 → byte 0 = 0b00001101 = 13, byte 1 = 0b00000011 = 3.
  at::Tensor keep = at::tensor({1, 0, 1, 1, 0, 0, 0, 0, 1, 1}).to(at::kBool);
  const std::string packed = PackBitmap(keep);
  ASSERT_EQ(packed.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(packed[0]), 13);
  EXPECT_EQ(static_cast<uint8_t>(packed[1]), 3);
  absl::StatusOr<at::Tensor> back = UnpackBitmap(packed, 10);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(at::equal(*back, keep));
  EXPECT_EQ(BitmapBytes(64), 8);
  EXPECT_EQ(BitmapBytes(65), 9);
}

TEST(BitmapTest, RejectsWrongLengthAndPaddingBits) {
  EXPECT_EQ(UnpackBitmap(std::string(3, '\0'), 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UnpackBitmap(std::string(1, '\0'), 10).status().code(), absl::StatusCode::kInvalidArgument);
  const std::string padded("\x01\x04", 2);  // bit 2 of byte 1 is patch 10: beyond L = 10
  absl::Status s = UnpackBitmap(padded, 10).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("beyond"), std::string::npos) << s;
  EXPECT_TRUE(UnpackBitmap(std::string("\x01\x02", 2), 10).ok());  // patch 9 is the last valid bit
}

}  // namespace
}  // namespace mt
