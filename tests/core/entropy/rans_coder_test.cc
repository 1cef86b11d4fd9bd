#include "core/entropy/rans_coder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace mt {
namespace {

struct Sym {
  uint32_t start, freq;
};

// Symbols with random frequencies in [1, 2^16], biased towards the extremes (freq 1 costs 16 bits
// and forces the longest renormalisation; freq 2^16 costs nothing).
std::vector<Sym> RandomSymbols(std::mt19937& rng, int count) {
  std::vector<Sym> out;
  for (int i = 0; i < count; ++i) {
    uint32_t freq;
    switch (rng() % 4) {
      case 0: freq = 1 + rng() % 4; break;
      case 1: freq = kProbTotal - rng() % 4; break;
      default: freq = 1 + rng() % kProbTotal; break;
    }
    out.push_back({static_cast<uint32_t>(rng() % (kProbTotal - freq + 1)), freq});
  }
  return out;
}

std::string Encode(const std::vector<Sym>& symbols) {
  RansEncoder e;
  for (const Sym& s : symbols) e.Put(s.start, s.freq);
  return e.Finish();
}

// Decodes `bytes` expecting `symbols`; the first failing status, or Finish's.
absl::Status DecodeExpecting(std::string_view bytes, const std::vector<Sym>& symbols) {
  absl::StatusOr<RansDecoder> d = RansDecoder::Open(bytes);
  if (!d.ok()) return d.status();
  for (const Sym& s : symbols)
    if (absl::Status st = d->Advance(s.start, s.freq); !st.ok()) return st;
  return d->Finish();
}

TEST(RansCoderTest, EmptyStreamIsTheInitialStateAndDecodes) {
  RansEncoder e;
  const std::string bytes = e.Finish();
  EXPECT_EQ(bytes, std::string("\x00\x00\x80\x00", 4));  // 2^23, little-endian
  absl::StatusOr<RansDecoder> d = RansDecoder::Open(bytes);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->Finish().ok());
}

TEST(RansCoderTest, EightBitsByHand) {
  // x = 2^23 >= 2^15·2^8 emits byte 0x00 → x = 2^15; x' = (2^15 / 2^8) << 16 | 0xAB << 8 = 0x80AB00.
  RansEncoder e;
  e.PutBits(0xAB, 8);
  const std::string bytes = e.Finish();
  EXPECT_EQ(bytes, std::string("\x00\xAB\x80\x00\x00", 5));
  absl::StatusOr<RansDecoder> d = RansDecoder::Open(bytes);
  ASSERT_TRUE(d.ok());
  absl::StatusOr<uint32_t> v = d->GetBits(8);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, 0xABu);
  EXPECT_TRUE(d->Finish().ok());
}

TEST(RansCoderTest, RandomSymbolsRoundTripInRecordingOrder) {
  for (uint32_t seed = 0; seed < 200; ++seed) {
    std::mt19937 rng(seed);
    const std::vector<Sym> symbols = RandomSymbols(rng, 1 + static_cast<int>(rng() % 2000));
    const std::string bytes = Encode(symbols);
    absl::StatusOr<RansDecoder> d = RansDecoder::Open(bytes);
    ASSERT_TRUE(d.ok()) << d.status();
    double bits = 0;
    for (size_t i = 0; i < symbols.size(); ++i) {
      const uint32_t slot = d->PeekCumulative();
      ASSERT_GE(slot, symbols[i].start) << "seed " << seed << " symbol " << i;
      ASSERT_LT(slot - symbols[i].start, symbols[i].freq) << "seed " << seed << " symbol " << i;
      ASSERT_TRUE(d->Advance(symbols[i].start, symbols[i].freq).ok());
      bits += kProbBits - std::log2(static_cast<double>(symbols[i].freq));
    }
    EXPECT_TRUE(d->Finish().ok()) << "seed " << seed;
    // Within the 4-byte state of the ideal code length.
    EXPECT_LE(static_cast<double>(bytes.size()), bits / 8 + 5) << "seed " << seed;
    EXPECT_GE(static_cast<double>(bytes.size()), bits / 8) << "seed " << seed;
  }
}

TEST(RansCoderTest, BypassBitsRoundTripAtEveryWidth) {
  std::mt19937 rng(7);
  RansEncoder e;
  std::vector<std::pair<uint32_t, int>> written;
  int total_bits = 0;
  for (int rep = 0; rep < 50; ++rep)
    for (int nbits = 1; nbits <= 16; ++nbits) {
      const uint32_t v = rep == 0 ? (1u << nbits) - 1 : rng() % (1u << nbits);  // all ones first
      e.PutBits(v, nbits);
      written.push_back({v, nbits});
      total_bits += nbits;
    }
  const std::string bytes = e.Finish();
  EXPECT_LE(bytes.size(), static_cast<size_t>(total_bits / 8 + 4));  // raw bits cost exactly their width
  absl::StatusOr<RansDecoder> d = RansDecoder::Open(bytes);
  ASSERT_TRUE(d.ok());
  for (auto [v, nbits] : written) {
    absl::StatusOr<uint32_t> got = d->GetBits(nbits);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(*got, v) << "nbits " << nbits;
  }
  EXPECT_TRUE(d->Finish().ok());
}

TEST(RansCoderTest, CertainSymbolsCostNothing) {
  RansEncoder e;
  for (int i = 0; i < 10000; ++i) e.Put(0, kProbTotal);
  EXPECT_EQ(e.size(), 10000u);
  EXPECT_EQ(e.Finish().size(), kRansStateBytes);
}

TEST(RansCoderTest, OpenRejectsShortStreamsAndImpossibleStates) {
  for (size_t n = 0; n < 4; ++n)
    EXPECT_EQ(RansDecoder::Open(std::string(n, '\x40')).status().code(), absl::StatusCode::kDataLoss) << n;
  EXPECT_EQ(RansDecoder::Open(std::string("\xff\xff\x7f\x00", 4)).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(RansDecoder::Open(std::string("\x00\x00\x00\x80", 4)).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(RansDecoder::Open(std::string("\xff\xff\xff\x7f", 4)).ok());  // 2^31 - 1 is reachable
}

TEST(RansCoderTest, AdvanceAndGetBitsRejectBadArguments) {
  RansEncoder e;
  e.Put(100, 10);
  const std::string bytes = e.Finish();
  absl::StatusOr<RansDecoder> d = RansDecoder::Open(bytes);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->Advance(0, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d->Advance(kProbTotal - 1, 2).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d->Advance(0, 100).code(), absl::StatusCode::kInvalidArgument);   // slot is in [100, 110)
  EXPECT_EQ(d->Advance(110, 10).code(), absl::StatusCode::kInvalidArgument);  // state untouched by these
  EXPECT_EQ(d->GetBits(0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d->GetBits(17).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(d->Advance(100, 10).ok());
  EXPECT_TRUE(d->Finish().ok());
}

TEST(RansCoderTest, EveryTruncationFails) {
  std::mt19937 rng(11);
  for (int rep = 0; rep < 20; ++rep) {
    const std::vector<Sym> symbols = RandomSymbols(rng, 300);
    const std::string bytes = Encode(symbols);
    ASSERT_TRUE(DecodeExpecting(bytes, symbols).ok());
    for (size_t n = 0; n < bytes.size(); ++n)
      ASSERT_FALSE(DecodeExpecting(std::string_view(bytes).substr(0, n), symbols).ok()) << "prefix " << n;
  }
}

TEST(RansCoderTest, TrailingBytesFailWithAMessage) {
  std::mt19937 rng(12);
  const std::vector<Sym> symbols = RandomSymbols(rng, 100);
  const std::string bytes = Encode(symbols);
  for (int extra = 1; extra <= 8; ++extra) {
    absl::Status s = DecodeExpecting(bytes + std::string(static_cast<size_t>(extra), '\0'), symbols);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("trailing"), std::string::npos) << s;
  }
}

TEST(RansCoderTest, FlippedBytesAreDetected) {
  // With the symbols known, a changed byte changes the state for good, so the final-state check
  // catches it unless the flip happens to land on another valid path.
  std::mt19937 rng(13);
  int flips = 0, detected = 0;
  for (int rep = 0; rep < 20; ++rep) {
    const std::vector<Sym> symbols = RandomSymbols(rng, 200);
    const std::string bytes = Encode(symbols);
    for (size_t i = 0; i < bytes.size(); ++i) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ static_cast<char>(1 + rng() % 255));
      ++flips;
      detected += DecodeExpecting(bad, symbols).ok() ? 0 : 1;
    }
  }
  EXPECT_GE(detected, flips * 99 / 100) << detected << " of " << flips;
}

}  // namespace
}  // namespace mt
