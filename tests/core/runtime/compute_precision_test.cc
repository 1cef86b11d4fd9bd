#include "core/runtime/compute_precision.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace mt {
namespace {

TEST(ComputePrecisionTest, ParsesTheTwoNamesAndNamesThemInErrors) {
  EXPECT_EQ(*ParseComputePrecision("fp32"), ComputePrecision::kFloat32);
  EXPECT_EQ(*ParseComputePrecision("bf16"), ComputePrecision::kBFloat16);
  auto bad = ParseComputePrecision("fp16");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("fp16"), std::string::npos);
  EXPECT_EQ(ComputePrecisionName(ComputePrecision::kBFloat16), "bf16");
  EXPECT_EQ(ComputePrecisionName(ComputePrecision::kFloat32), "fp32");
}

TEST(ComputePrecisionTest, AutoPicksBf16OnlyWhereItMeasuresFasterAndBf16ElsewhereIsWarned) {
  EXPECT_EQ(*ParseComputePrecision("auto", [] { return true; }), ComputePrecision::kBFloat16);
  EXPECT_EQ(*ParseComputePrecision("auto", [] { return false; }), ComputePrecision::kFloat32);
  // Named precisions never consult the probe (it would cost ~0.1 s at every start).
  EXPECT_EQ(*ParseComputePrecision("bf16", [] { return false; }), ComputePrecision::kBFloat16);  // asked for: honoured
  EXPECT_EQ(*ParseComputePrecision("fp32", [] { return true; }), ComputePrecision::kFloat32);
  EXPECT_NE(ComputePrecisionWarning(ComputePrecision::kBFloat16, false).find("30x"), std::string::npos);
  EXPECT_EQ(ComputePrecisionWarning(ComputePrecision::kBFloat16, true), "");
  EXPECT_EQ(ComputePrecisionWarning(ComputePrecision::kFloat32, false), "");
  // This machine: without native bf16 nothing is measured; with it, auto follows the measured speedup.
  const double speedup = Bf16GemmSpeedup();
  if (!CpuHasNativeBf16()) EXPECT_EQ(speedup, 0.0);
  else EXPECT_GT(speedup, 0.0);
  EXPECT_EQ(Bf16GemmSpeedup(), speedup);  // measured once per process
  EXPECT_EQ(*ParseComputePrecision("auto"),
            speedup >= kBf16AutoMinSpeedup ? ComputePrecision::kBFloat16 : ComputePrecision::kFloat32);
}

TEST(ComputePrecisionTest, ScopeRunsMatmulsInBf16ThenRestores) {
  at::Tensor a = at::rand({8, 8}), b = at::rand({8, 8});
  // What bf16 inputs give (computed outside any scope): the products of the rounded inputs.
  const at::Tensor rounded = at::mm(a.to(at::kBFloat16).to(at::kFloat), b.to(at::kBFloat16).to(at::kFloat));
  {
    ComputePrecisionScope fp32(ComputePrecision::kFloat32);
    EXPECT_EQ(at::mm(a, b).scalar_type(), at::kFloat);
  }
  {
    ComputePrecisionScope bf16(ComputePrecision::kBFloat16);
    at::Tensor c = at::mm(a, b);
    EXPECT_EQ(c.scalar_type(), at::kBFloat16);
    // bf16 rounding: close to the fp32 product, within 8 mantissa bits of each input.
    EXPECT_TRUE(at::allclose(c.to(at::kFloat), rounded, 1e-2, 1e-2));
    {
      ComputePrecisionScope nested(ComputePrecision::kBFloat16);
    }
    EXPECT_EQ(at::mm(a, b).scalar_type(), at::kBFloat16);  // the inner scope restored "on"
  }
  EXPECT_EQ(at::mm(a, b).scalar_type(), at::kFloat);
}

}  // namespace
}  // namespace mt
