#include "core/codec/feature_codec.h"

#include <ATen/ATen.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace mt {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the wire format is little-endian; add byte swaps");

std::string Bytes(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.nbytes()));
}

at::Tensor FromBytes(std::string_view bytes, at::IntArrayRef shape, at::ScalarType type) {
  at::Tensor t = at::empty(shape, type);
  std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

}  // namespace

const char* PrecisionName(Precision p) {
  switch (p) {
    case Precision::kFp32: return "fp32";
    case Precision::kFp16: return "fp16";
    case Precision::kInt8: return "int8";
  }
  return "?";
}

absl::StatusOr<Precision> ParsePrecision(std::string_view name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "fp16") return Precision::kFp16;
  if (name == "int8") return Precision::kInt8;
  return absl::InvalidArgumentError(absl::StrCat("unknown precision '", std::string(name), "' (fp32|fp16|int8)"));
}

int64_t TokenBytes(Precision p, int64_t dim) {
  switch (p) {
    case Precision::kFp32: return 4 * dim;
    case Precision::kFp16: return 2 * dim;
    case Precision::kInt8: return dim + 4;
  }
  return 0;
}

EncodedTokens EncodeTokens(const at::Tensor& tokens, Precision precision) {
  TORCH_CHECK(tokens.dim() == 2, "EncodeTokens expects (N, D), got ", tokens.sizes());
  at::Tensor x = tokens.detach().to(at::kCPU).to(at::kFloat).contiguous();
  TORCH_CHECK(at::isfinite(x).all().item<bool>(), "EncodeTokens: non-finite features");
  EncodedTokens out;
  switch (precision) {
    case Precision::kFp32:
      out.values = Bytes(x);
      break;
    case Precision::kFp16:
      out.values = Bytes(x.clamp(-65504.0, 65504.0).to(at::kHalf));  // saturate rather than send Inf
      break;
    case Precision::kInt8: {
      at::Tensor scale = x.abs().amax(1, /*keepdim=*/true) / 127.0;
      at::Tensor q = at::where(scale > 0, x / scale, at::zeros_like(x)).round().clamp(-127, 127).to(at::kChar);
      out.values = Bytes(q);
      out.scales = Bytes(scale.squeeze(1));
      break;
    }
  }
  return out;
}

absl::StatusOr<at::Tensor> DecodeTokens(std::string_view values, std::string_view scales, int64_t n, int64_t dim,
                                        Precision precision) {
  const int64_t elem = precision == Precision::kFp32 ? 4 : precision == Precision::kFp16 ? 2 : 1;
  if (static_cast<int64_t>(values.size()) != n * dim * elem)
    return absl::InvalidArgumentError(absl::StrCat("features has ", values.size(), " bytes; ", n, " tokens of ", dim,
                                                   " ", PrecisionName(precision), " values need ", n * dim * elem));
  const int64_t scale_bytes = precision == Precision::kInt8 ? 4 * n : 0;
  if (static_cast<int64_t>(scales.size()) != scale_bytes)
    return absl::InvalidArgumentError(absl::StrCat("feature_scales has ", scales.size(), " bytes; expected ",
                                                   scale_bytes, " for ", n, " ", PrecisionName(precision),
                                                   " tokens"));
  at::Tensor out;
  switch (precision) {
    case Precision::kFp32:
      out = FromBytes(values, {n, dim}, at::kFloat);
      break;
    case Precision::kFp16:
      out = FromBytes(values, {n, dim}, at::kHalf).to(at::kFloat);
      break;
    case Precision::kInt8: {
      at::Tensor s = FromBytes(scales, {n, 1}, at::kFloat);
      if (n > 0 && !(at::isfinite(s).all().item<bool>() && (s >= 0).all().item<bool>()))
        return absl::InvalidArgumentError("feature_scales holds a negative or non-finite scale");
      out = FromBytes(values, {n, dim}, at::kChar).to(at::kFloat) * s;
      break;
    }
  }
  if (n > 0 && !at::isfinite(out).all().item<bool>())
    return absl::InvalidArgumentError("features holds a non-finite value (NaN or Inf)");
  // Finite but huge values (±3e38, or an int8 scale of 1e36) overflow inside the decoder and
  // come out as NaN pixels; no encoder emits them (its tokens are layer-normalised, |x| ~ 10).
  if (n > 0) {
    const double peak = out.abs().max().item<double>();
    if (peak > kMaxFeatureMagnitude)
      return absl::InvalidArgumentError(absl::StrCat("features holds a value of magnitude ", peak, ", over the ",
                                                     kMaxFeatureMagnitude, " any encoder emits"));
  }
  return out;
}

}  // namespace mt
