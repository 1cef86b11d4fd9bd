#include "core/codec/packet.h"

#include <gtest/gtest.h>

namespace mt {
namespace {

TEST(PacketTest, ImageIdsCannotLeaveTheOutputFolder) {
  EXPECT_TRUE(ValidateImageId("photo_01.v2-a").ok());
  for (const char* bad : {"", ".hidden", "../etc/passwd", "a/b", "a\\b", "sp ace", "nul\n"})
    EXPECT_EQ(ValidateImageId(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  EXPECT_EQ(ValidateImageId(std::string(129, 'a')).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateImageId(std::string(128, 'a')).ok());
}

TEST(PacketTest, BytesPerPatchAndTileByPayload) {
  // D = 128, p = 4: fp16 token 256 B, int8 token 128 + 4 B scale, patch pixels 4·4·3 = 48 B.
  EXPECT_EQ(BytesPerKeptPatch(PayloadKind::kFeatures, Precision::kFp16, 128, 4), 256);
  EXPECT_EQ(BytesPerKeptPatch(PayloadKind::kFeaturesAndPixels, Precision::kInt8, 128, 4), 132 + 48);
  EXPECT_EQ(BytesPerKeptPatch(PayloadKind::kPixels, Precision::kFp32, 128, 4), 48);
  EXPECT_EQ(BytesPerTile(PayloadKind::kFeatures, Precision::kFp32, 128, 64), 8 + 512);  // bitmap + cls
  EXPECT_EQ(BytesPerTile(PayloadKind::kPixels, Precision::kFp32, 128, 64), 8);
  EXPECT_EQ(*ParsePayloadKind("features+pixels"), PayloadKind::kFeaturesAndPixels);
  EXPECT_EQ(ParsePayloadKind("jpeg").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mt
