#include "core/entropy/rans_coder.h"

#include "absl/strings/str_cat.h"
#include "core/entropy/contract_check.h"

namespace mt {
namespace {

// Before coding a symbol of frequency f the encoder shifts bytes out until the state is below
// f·2^15, so the coded state lands back in [2^23, 2^31) and the decoder's inverse step is exact.
constexpr uint32_t kRenormScale = (kRansLowerBound >> kProbBits) << 8;

}  // namespace

void RansEncoder::Put(uint32_t start, uint32_t freq) {
  MT_ENTROPY_CHECK(freq >= 1 && freq <= kProbTotal && start <= kProbTotal - freq,
                   "RansEncoder::Put needs 1 <= freq and start + freq <= 2^16");
  symbols_.push_back({start, freq});
}

void RansEncoder::PutBits(uint32_t value, int nbits) {
  MT_ENTROPY_CHECK(nbits >= 1 && nbits <= kProbBits, "RansEncoder::PutBits needs 1 <= nbits <= 16");
  MT_ENTROPY_CHECK(value < (uint32_t{1} << nbits), "RansEncoder::PutBits value does not fit in nbits");
  const int shift = kProbBits - nbits;
  Put(value << shift, uint32_t{1} << shift);
}

std::string RansEncoder::Finish() {
  // Renormalisation bytes come out last-symbol first; the decoder wants them first-symbol first,
  // so they are collected and reversed once at the end.
  std::string renorm;
  renorm.reserve(symbols_.size() / 2 + 8);
  uint32_t x = kRansLowerBound;
  for (auto it = symbols_.rbegin(); it != symbols_.rend(); ++it) {
    const uint32_t x_max = kRenormScale * it->freq;
    while (x >= x_max) {
      renorm.push_back(static_cast<char>(x & 0xff));
      x >>= 8;
    }
    x = ((x / it->freq) << kProbBits) + (x % it->freq) + it->start;
  }
  std::string out;
  out.reserve(kRansStateBytes + renorm.size());
  for (size_t i = 0; i < kRansStateBytes; ++i) out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
  out.append(renorm.rbegin(), renorm.rend());
  symbols_.clear();
  return out;
}

absl::StatusOr<RansDecoder> RansDecoder::Open(std::string_view bytes) {
  if (bytes.size() < kRansStateBytes)
    return absl::DataLossError(absl::StrCat("rANS stream has ", bytes.size(), " bytes; the state alone needs ",
                                            kRansStateBytes));
  uint32_t x = 0;
  for (size_t i = 0; i < kRansStateBytes; ++i) x |= uint32_t{static_cast<uint8_t>(bytes[i])} << (8 * i);
  if (x < kRansLowerBound || x >= (kRansLowerBound << 8))
    return absl::DataLossError(absl::StrCat("rANS initial state ", x, " is outside [2^23, 2^31)"));
  return RansDecoder(bytes, x);
}

absl::Status RansDecoder::Advance(uint32_t start, uint32_t freq) {
  const uint32_t slot = PeekCumulative();
  if (freq == 0 || freq > kProbTotal || start > kProbTotal - freq || slot < start || slot - start >= freq)
    return absl::InvalidArgumentError(
        absl::StrCat("rANS symbol [", start, ", +", freq, ") does not contain the slot ", slot));
  // Cannot overflow: freq·(x >> 16) + freq - 1 <= 2^16·2^15 + 2^16 - 1 < 2^32 for x < 2^31.
  uint32_t x = freq * (state_ >> kProbBits) + (slot - start);
  while (x < kRansLowerBound) {
    if (pos_ >= bytes_.size())
      return absl::DataLossError(absl::StrCat("rANS stream ends after ", bytes_.size(), " bytes, mid-symbol"));
    x = (x << 8) | static_cast<uint8_t>(bytes_[pos_++]);
  }
  state_ = x;
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> RansDecoder::GetBits(int nbits) {
  if (nbits < 1 || nbits > kProbBits)
    return absl::InvalidArgumentError(absl::StrCat("GetBits needs 1 <= nbits <= 16, got ", nbits));
  const int shift = kProbBits - nbits;
  const uint32_t value = PeekCumulative() >> shift;
  absl::Status s = Advance(value << shift, uint32_t{1} << shift);
  if (!s.ok()) return s;
  return value;
}

absl::Status RansDecoder::Finish() const {
  if (pos_ != bytes_.size())
    return absl::DataLossError(
        absl::StrCat("rANS stream has ", bytes_.size() - pos_, " trailing bytes of ", bytes_.size()));
  if (state_ != kRansLowerBound)
    return absl::DataLossError(
        absl::StrCat("rANS final state ", state_, " is not the initial ", kRansLowerBound, ": corrupt stream"));
  return absl::OkStatus();
}

}  // namespace mt
