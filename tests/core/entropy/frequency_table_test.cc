#include "core/entropy/frequency_table.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tests/core/entropy/random_tables.h"

namespace mt {
namespace {

constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();

std::vector<uint32_t> Freqs(const FrequencyTable& t) {
  std::vector<uint32_t> f;
  for (size_t i = 0; i + 1 < t.cdf.size(); ++i) f.push_back(t.cdf[i + 1] - t.cdf[i]);
  return f;
}

std::vector<int32_t> RoundTrip(const FrequencyTable& table, const std::vector<int32_t>& values, std::string* bytes) {
  RansEncoder e;
  for (int32_t v : values) EncodeSymbol(e, table, v);
  *bytes = e.Finish();
  absl::StatusOr<RansDecoder> d = RansDecoder::Open(*bytes);
  EXPECT_TRUE(d.ok()) << d.status();
  std::vector<int32_t> out;
  for (size_t i = 0; i < values.size(); ++i) {
    absl::StatusOr<int32_t> v = DecodeSymbol(*d, table);
    EXPECT_TRUE(v.ok()) << v.status();
    if (!v.ok()) return out;
    out.push_back(*v);
  }
  EXPECT_TRUE(d->Finish().ok()) << d->Finish();
  return out;
}

TEST(FrequencyTableTest, QuantizePmfMatchesTheNumPyReference) {
  // Numbers printed by /usr/bin/python3 tests/reference/quantize_pmf_reference.py.
  const std::vector<std::pair<std::vector<double>, std::vector<uint32_t>>> cases = {
      {{1.0, 1.0, 1.0}, {21846, 21845, 21845}},
      {{0.7, 0.2, 0.0999, 0.0001}, {45875, 13107, 6547, 7}},
      {{0.0, 1.0, 0.0, 0.0, 1e-09}, {1, 65532, 1, 1, 1}},
      {{3.0, 1.0, 4.0, 1.0, 5.0, 9.0}, {8548, 2849, 11398, 2849, 14247, 25645}},
      {{0.02351774585600911, 0.0820849986238988, 0.2865047968601901, 1.0, 0.2865047968601901, 0.0820849986238988,
        0.02351774585600911, 0.0001},
       {864, 3015, 10523, 36729, 10523, 3015, 864, 3}},
      {{1e-300, 3e-300}, {16384, 49152}},
      {{1.0, 1.0, 0.0, 0.0, 0.0, 0.0}, {32766, 32766, 1, 1, 1, 1}},
  };
  for (const auto& [pmf, expected] : cases) {
    absl::StatusOr<FrequencyTable> t = QuantizePmf(pmf, -3);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->offset, -3);
    EXPECT_EQ(Freqs(*t), expected) << "pmf of " << pmf.size() << " starting " << pmf[0];
  }
}

TEST(FrequencyTableTest, QuantizePmfIsExactPositiveMonotoneAndDeterministic) {
  for (uint32_t seed = 0; seed < 300; ++seed) {
    std::mt19937 rng(seed);
    const int n = seed % 10 == 0 ? kMaxTableSymbols : 2 + static_cast<int>(rng() % 300);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<double> pmf(static_cast<size_t>(n));
    const double sharpness = 50 * u(rng);  // up to e^-50: most entries quantise to 0 before the fix
    for (double& p : pmf) p = u(rng) < 0.2 ? 0.0 : std::exp(-sharpness * u(rng));
    pmf[rng() % pmf.size()] = 1.0;
    absl::StatusOr<FrequencyTable> t = QuantizePmf(pmf, 0);
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_EQ(t->cdf.size(), pmf.size() + 1);
    EXPECT_EQ(t->cdf.front(), 0u);
    EXPECT_EQ(t->cdf.back(), kProbTotal);
    for (uint32_t f : Freqs(*t)) ASSERT_GE(f, 1u) << "seed " << seed;
    EXPECT_TRUE(ValidateTable(*t).ok()) << ValidateTable(*t);
    absl::StatusOr<FrequencyTable> again = QuantizePmf(pmf, 0);
    EXPECT_EQ(again->cdf, t->cdf);
    // Order-preserving up to the ±1 repair: a clearly larger mass never gets a smaller frequency.
    const std::vector<uint32_t> freq = Freqs(*t);
    for (size_t i = 0; i + 1 < pmf.size(); ++i) {
      if (pmf[i] > pmf[i + 1] * 1.01 + 1e-3) {
        ASSERT_GE(freq[i] + 1, freq[i + 1]) << seed << " " << i;
      }
      if (pmf[i + 1] > pmf[i] * 1.01 + 1e-3) {
        ASSERT_GE(freq[i + 1] + 1, freq[i]) << seed << " " << i;
      }
    }
  }
}

TEST(FrequencyTableTest, QuantizePmfRejectsBadPmfs) {
  const double inf = std::numeric_limits<double>::infinity();
  for (const std::vector<double>& bad :
       {std::vector<double>{}, {1.0}, {1.0, -0.1}, {1.0, std::nan("")}, {inf, 1.0}, {0.0, 0.0, 0.0},
        {1e308, 1e308}, std::vector<double>(static_cast<size_t>(kMaxTableSymbols) + 1, 1.0)})
    EXPECT_EQ(QuantizePmf(bad, 0).status().code(), absl::StatusCode::kInvalidArgument) << bad.size();
  EXPECT_EQ(QuantizePmf({1.0, 1.0, 1.0}, kInt32Max).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(QuantizePmf({1.0, 1.0, 1.0}, kInt32Max - 1).ok());  // values kInt32Max-1, kInt32Max + escape
  EXPECT_TRUE(QuantizePmf(std::vector<double>(static_cast<size_t>(kMaxTableSymbols), 1.0), 0).ok());
}

TEST(FrequencyTableTest, ValidateTableNamesTheViolation) {
  FrequencyTable good{5, {0, 100, kProbTotal}};
  EXPECT_TRUE(ValidateTable(good).ok());
  const std::vector<std::pair<FrequencyTable, std::string>> bad = {
      {{0, {0, kProbTotal}}, "entries"},
      {{0, {1, 100, kProbTotal}}, "cdf[0]"},
      {{0, {0, 100, kProbTotal - 1}}, "cdf[n]"},
      {{0, {0, 100, 100, kProbTotal}}, "strictly increasing"},
      {{0, {0, 200, 100, kProbTotal}}, "strictly increasing"},
      {{kInt32Max, {0, 100, 200, kProbTotal}}, "overflows"},
  };
  for (const auto& [table, what] : bad) {
    absl::Status s = ValidateTable(table);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << what;
    EXPECT_NE(s.message().find(what), std::string::npos) << s;
  }
}

TEST(FrequencyTableTest, RandomValuesRoundTripUnderRandomTables) {
  for (uint32_t seed = 0; seed < 300; ++seed) {
    std::mt19937 rng(seed);
    const int n = 2 + static_cast<int>(rng() % (seed % 7 == 0 ? kMaxTableSymbols - 1 : 64));
    const int32_t offset = static_cast<int32_t>(rng() % 2001) - 1000;
    const FrequencyTable table = test::RandomTable(rng, n, offset);
    ASSERT_TRUE(ValidateTable(table).ok()) << ValidateTable(table);
    std::vector<int32_t> values;
    for (int i = 0; i < 500; ++i) values.push_back(test::RandomValue(rng, table));
    values.push_back(offset - 1);  // one of each escape direction always
    values.push_back(offset + n - 1);
    std::string bytes;
    EXPECT_EQ(RoundTrip(table, values, &bytes), values) << "seed " << seed;
  }
}

TEST(FrequencyTableTest, EveryInt32ExtremeRoundTrips) {
  const std::vector<int32_t> values = {kInt32Min, kInt32Max, kInt32Min + 1, kInt32Max - 1, 0, -1, 1};
  for (int32_t offset : {kInt32Min, kInt32Min + 1, -4, 0, kInt32Max - 2, kInt32Max - 1}) {
    const FrequencyTable table = *QuantizePmf({0.5, 0.3, 0.2}, offset);  // two values + escape
    std::string bytes;
    EXPECT_EQ(RoundTrip(table, values, &bytes), values) << "offset " << offset;
  }
}

TEST(FrequencyTableTest, SymbolBitsIsTheIdealLengthAndMatchesRealBytes) {
  const FrequencyTable table{10, {0, 32768, 49152, 65535, kProbTotal}};  // 10, 11, 12, escape (freq 1)
  EXPECT_DOUBLE_EQ(SymbolBits(table, 10), 1.0);
  EXPECT_DOUBLE_EQ(SymbolBits(table, 11), 2.0);
  EXPECT_DOUBLE_EQ(SymbolBits(table, 12), 16 - std::log2(16383.0));
  EXPECT_DOUBLE_EQ(SymbolBits(table, 9), 16 + 1.0);       // d = 1 below: u = 0, gamma("1") = 1 bit
  EXPECT_DOUBLE_EQ(SymbolBits(table, 13), 16 + 3.0);      // d = 1 above: u = 1, gamma("10") = 3 bits
  EXPECT_DOUBLE_EQ(SymbolBits(table, 7), 16 + 5.0);       // d = 3 below: u = 4, gamma("101") = 5 bits
  EXPECT_DOUBLE_EQ(SymbolBits(table, kInt32Max), 16 + 63.0);  // u + 1 < 2^32: 32-bit gamma

  std::mt19937 rng(5);
  const FrequencyTable wide = test::RandomTable(rng, 40, -20);
  std::vector<int32_t> values;
  double bits = 0;
  for (int i = 0; i < 20000; ++i) {
    values.push_back(test::RandomValue(rng, wide));
    bits += SymbolBits(wide, values.back());
  }
  std::string bytes;
  ASSERT_EQ(RoundTrip(wide, values, &bytes), values);
  EXPECT_GE(static_cast<double>(bytes.size()), bits / 8);
  EXPECT_LE(static_cast<double>(bytes.size()), bits / 8 + 5);
}

TEST(FrequencyTableTest, MalformedEscapesAreDataLoss) {
  const FrequencyTable table{kInt32Min, {0, 60000, kProbTotal}};  // value kInt32Min, escape
  {
    RansEncoder e;  // an escape whose gamma prefix never ends within 32 zeros
    e.Put(60000, kProbTotal - 60000);
    for (int i = 0; i < 40; ++i) e.PutBits(0, 1);
    const std::string bytes = e.Finish();
    absl::StatusOr<RansDecoder> d = RansDecoder::Open(bytes);
    absl::Status s = DecodeSymbol(*d, table).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("leading zeros"), std::string::npos) << s;
  }
  {
    RansEncoder e;  // an escape below kInt32Min: gamma "1" means d = 1 below
    e.Put(60000, kProbTotal - 60000);
    e.PutBits(1, 1);
    const std::string bytes = e.Finish();
    absl::StatusOr<RansDecoder> d = RansDecoder::Open(bytes);
    absl::Status s = DecodeSymbol(*d, table).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("outside int32"), std::string::npos) << s;
  }
  {
    RansEncoder e;  // an escape cut short: the stream ends inside the gamma code
    EncodeSymbol(e, table, 12345);
    std::string bytes = e.Finish();
    absl::StatusOr<RansDecoder> d = RansDecoder::Open(std::string_view(bytes).substr(0, 5));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(DecodeSymbol(*d, table).status().code(), absl::StatusCode::kDataLoss);
  }
}

}  // namespace
}  // namespace mt
