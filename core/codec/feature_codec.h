// Quantisation of decoder-space feature tokens for the wire.
// fp32: exact. fp16: IEEE half, relative error <= 2^-11 within half range (|x| < 65504).
// int8: per-token symmetric scale s = max|x| / 127 stored as fp32; |x - x̂| <= s / 2.
// Values and scales are little-endian.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mt {

enum class Precision { kFp32, kFp16, kInt8 };

// "fp32" | "fp16" | "int8".
const char* PrecisionName(Precision p);
absl::StatusOr<Precision> ParsePrecision(std::string_view name);

// Wire bytes of one D-wide token (the int8 scale included).
int64_t TokenBytes(Precision p, int64_t dim);

struct EncodedTokens {
  std::string values;  // N·D values at the precision
  std::string scales;  // int8 only: N fp32 scales; empty otherwise
};

// tokens (N, D) float → wire bytes. Non-finite inputs are a programmer error (TORCH_CHECK).
EncodedTokens EncodeTokens(const at::Tensor& tokens, Precision precision);

// Largest feature magnitude a packet may carry (fp16's largest finite value): beyond it the
// decoder's arithmetic can overflow to NaN.
inline constexpr double kMaxFeatureMagnitude = 65504.0;

// Wire bytes → (N, D) float32. INVALID_ARGUMENT names the field ("features", "feature_scales")
// when a length does not match N and D or a value or scale is not finite (or a scale negative).
absl::StatusOr<at::Tensor> DecodeTokens(std::string_view values, std::string_view scales, int64_t n,
                                        int64_t dim, Precision precision);

}  // namespace mt
