#include "core/codec/feature_codec.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace mt {
namespace {

absl::StatusOr<at::Tensor> RoundTrip(const at::Tensor& x, Precision p) {
  EncodedTokens e = EncodeTokens(x, p);
  return DecodeTokens(e.values, e.scales, x.size(0), x.size(1), p);
}

TEST(FeatureCodecTest, Fp32IsExactAndSizesMatchTokenBytes) {
  at::manual_seed(3);
  at::Tensor x = at::randn({5, 16});
  for (Precision p : {Precision::kFp32, Precision::kFp16, Precision::kInt8}) {
    EncodedTokens e = EncodeTokens(x, p);
    EXPECT_EQ(static_cast<int64_t>(e.values.size() + e.scales.size()), 5 * TokenBytes(p, 16)) << PrecisionName(p);
  }
  EXPECT_TRUE(at::equal(*RoundTrip(x, Precision::kFp32), x));
  EXPECT_EQ(TokenBytes(Precision::kFp32, 128), 512);
  EXPECT_EQ(TokenBytes(Precision::kFp16, 128), 256);
  EXPECT_EQ(TokenBytes(Precision::kInt8, 128), 132);
}

TEST(FeatureCodecTest, Fp16RelativeErrorWithinHalfUlp) {
  at::manual_seed(4);
  at::Tensor x = at::randn({64, 32}) * 10;
  at::Tensor y = *RoundTrip(x, Precision::kFp16);
  // Half has an 11-bit significand: round-to-nearest error <= 2^-11 relative (normal range).
  at::Tensor normal = x.abs() > 6.1e-5;
  at::Tensor rel = ((y - x).abs() / x.abs()).masked_select(normal);
  EXPECT_LE(rel.max().item<double>(), std::ldexp(1.0, -11) + 1e-9);
}

TEST(FeatureCodecTest, Int8HandComputedAndWithinHalfScale) {
  // Token 0: max |x| = 1.27 → scale 0.01; q = [127, -50, 1] → [1.27, -0.5, 0.01]. Token 1: all zero.
  at::Tensor x = at::tensor({1.27f, -0.5f, 0.013f, 0.f, 0.f, 0.f}).reshape({2, 3});
  at::Tensor y = *RoundTrip(x, Precision::kInt8);
  at::Tensor expected = at::tensor({1.27f, -0.5f, 0.01f, 0.f, 0.f, 0.f}).reshape({2, 3});
  EXPECT_TRUE(at::allclose(y, expected, 0, 1e-6)) << y;
  at::manual_seed(5);
  at::Tensor r = at::randn({32, 64});
  at::Tensor scale = r.abs().amax(1, true) / 127.0;
  EXPECT_TRUE(((*RoundTrip(r, Precision::kInt8) - r).abs() <= scale / 2 + 1e-6).all().item<bool>());
}

TEST(FeatureCodecTest, RejectsWrongLengthsAndNonFiniteValues) {
  at::Tensor x = at::ones({2, 4});
  EncodedTokens f32 = EncodeTokens(x, Precision::kFp32);
  absl::Status s = DecodeTokens(f32.values.substr(1), "", 2, 4, Precision::kFp32).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("features", 0), 0u) << s;
  EncodedTokens i8 = EncodeTokens(x, Precision::kInt8);
  s = DecodeTokens(i8.values, i8.scales.substr(4), 2, 4, Precision::kInt8).status();
  EXPECT_EQ(s.message().rfind("feature_scales", 0), 0u) << s;
  std::string nan_values = f32.values;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan_values.data() + 4, &nan, 4);
  EXPECT_EQ(DecodeTokens(nan_values, "", 2, 4, Precision::kFp32).status().code(), absl::StatusCode::kInvalidArgument);
  std::string neg_scales = i8.scales;
  const float neg = -1.f;
  std::memcpy(neg_scales.data(), &neg, 4);
  EXPECT_EQ(DecodeTokens(i8.values, neg_scales, 2, 4, Precision::kInt8).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Finite but huge: ±3e38 in fp32, or an int8 scale of 1e36 (the NaN-in-the-decoder cases).
  std::string huge = f32.values;
  const float big = 3e38f;
  std::memcpy(huge.data(), &big, 4);
  s = DecodeTokens(huge, "", 2, 4, Precision::kFp32).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("magnitude"), std::string::npos) << s;
  std::string huge_scales = i8.scales;
  const float big_scale = 1e36f;
  std::memcpy(huge_scales.data(), &big_scale, 4);
  EXPECT_EQ(DecodeTokens(i8.values, huge_scales, 2, 4, Precision::kInt8).status().code(),
            absl::StatusCode::kInvalidArgument);
  // The largest accepted magnitude still decodes.
  std::string edge = f32.values;
  const float fp16_max = 65504.f;
  std::memcpy(edge.data(), &fp16_max, 4);
  EXPECT_TRUE(DecodeTokens(edge, "", 2, 4, Precision::kFp32).ok());
  EXPECT_EQ(ParsePrecision("bf16").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParsePrecision("int8"), Precision::kInt8);
}

}  // namespace
}  // namespace mt
