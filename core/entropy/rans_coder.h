// Range asymmetric numeral system (rANS, Duda 2013) coder: 32-bit state, 16-bit probabilities,
// byte-wise renormalisation (the design of Giesen's public-domain rans_byte, written afresh).
//
// Stream layout: the encoder's final state as 4 little-endian bytes, then the renormalisation
// bytes in the order the decoder reads them. Nothing else: no length, no header. The decoder
// starts from those 4 bytes and must end in the encoder's initial state (kRansLowerBound) with
// every byte consumed, which is what catches truncated, extended and most corrupted streams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mt {

inline constexpr int kProbBits = 16;                           // probabilities are freq / 2^16
inline constexpr uint32_t kProbTotal = uint32_t{1} << kProbBits;
inline constexpr uint32_t kRansLowerBound = uint32_t{1} << 23;  // state lives in [2^23, 2^31)
inline constexpr size_t kRansStateBytes = 4;

// Records symbols, then encodes them all at once in Finish. rANS is last-in first-out, so the
// recording is encoded backwards and the decoder reads symbols in the order they were Put.
// Not thread-safe (mutable state); separate instances are independent.
class RansEncoder {
 public:
  // Records a symbol occupying [start, start + freq) of kProbTotal. Requires freq >= 1 and
  // start + freq <= kProbTotal (programmer error otherwise: aborts).
  void Put(uint32_t start, uint32_t freq);

  // Records the low `nbits` bits of `value` (1 <= nbits <= 16, value < 2^nbits; aborts otherwise)
  // as one uniform symbol: exactly nbits bits of output.
  void PutBits(uint32_t value, int nbits);

  // Number of symbols recorded so far (PutBits counts as one).
  size_t size() const { return symbols_.size(); }

  // Encodes everything recorded and returns the stream (>= 4 bytes); the encoder is then empty.
  std::string Finish();

 private:
  struct Symbol {
    uint32_t start, freq;
  };
  std::vector<Symbol> symbols_;
};

// Reads a stream written by RansEncoder. Holds a view: `bytes` must outlive the decoder.
// Never reads outside `bytes`. Not thread-safe (mutable state); separate instances are independent.
class RansDecoder {
 public:
  // Starts decoding `bytes`. DATA_LOSS if there are fewer than 4 bytes or the initial state is
  // outside [2^23, 2^31) (no encoder writes such a state).
  static absl::StatusOr<RansDecoder> Open(std::string_view bytes);

  // The next symbol's slot in [0, kProbTotal): the caller finds the symbol whose
  // [start, start + freq) contains it, then calls Advance with that symbol.
  uint32_t PeekCumulative() const { return state_ & (kProbTotal - 1); }

  // Consumes the symbol [start, start + freq). INVALID_ARGUMENT if it is not a valid range or does
  // not contain PeekCumulative(); DATA_LOSS if renormalising needs bytes past the end.
  absl::Status Advance(uint32_t start, uint32_t freq);

  // Reads `nbits` raw bits written by PutBits. INVALID_ARGUMENT unless 1 <= nbits <= 16;
  // DATA_LOSS as for Advance.
  absl::StatusOr<uint32_t> GetBits(int nbits);

  // OK only if the state is back to the encoder's initial state and every byte was consumed;
  // DATA_LOSS (saying which) otherwise.
  absl::Status Finish() const;

  // Bytes not yet consumed.
  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  RansDecoder(std::string_view bytes, uint32_t state) : bytes_(bytes), pos_(kRansStateBytes), state_(state) {}

  std::string_view bytes_;
  size_t pos_;
  uint32_t state_;
};

}  // namespace mt
