#include "core/entropy/keep_mask_coder.h"

#include <array>
#include <cmath>
#include <cstddef>

#include "absl/strings/str_cat.h"
#include "core/entropy/contract_check.h"

namespace mt {
namespace {

constexpr uint32_t kHalf = kProbTotal / 2;
constexpr uint32_t kMinProb = 32;  // keeps both outcomes' frequencies >= 32
constexpr uint32_t kMaxProb = kProbTotal - kMinProb;
// A context's k-th bit (k = 0, 1, 2, ...) moves its probability 1/2^min(k + 1, 4) of the way to
// the bit: a tile has only 64 cells spread over 16 contexts, so a fixed 1/16 would still be near
// 1/2 when the tile ends (measured on 8×8 masks: an empty mask costs 5.6 bits instead of 13.3,
// a 3×4 blob 28.6 instead of 37.6, iid masks keeping 13.6 % 45.1 instead of 49.8).
constexpr int kAdaptShift = 4;

// The adaptive state shared by encoder, decoder and the bit estimate, so the three cannot drift.
class KeepModel {
 public:
  KeepModel(int grid, const std::vector<uint8_t>& mask) : grid_(grid), mask_(mask) {
    probs_.fill(kHalf);
    shifts_.fill(1);
  }

  // Context of cell (r, c) from the already-coded neighbours; cells outside the tile count as 0.
  int Context(int r, int c) const {
    return Bit(r, c - 1) | Bit(r - 1, c) << 1 | Bit(r - 1, c - 1) << 2 | Bit(r - 1, c + 1) << 3;
  }

  // Probability (of 2^16) that the cell with context `ctx` is kept.
  uint32_t ProbKept(int ctx) const { return probs_[static_cast<size_t>(ctx)]; }

  // The symbol [start, start + freq) of bit `kept`: kept takes [0, p), dropped [p, 2^16).
  static uint32_t Start(uint32_t p, bool kept) { return kept ? 0 : p; }
  static uint32_t Freq(uint32_t p, bool kept) { return kept ? p : kProbTotal - p; }

  void Update(int ctx, bool kept) {
    uint32_t& p = probs_[static_cast<size_t>(ctx)];
    int& shift = shifts_[static_cast<size_t>(ctx)];
    if (kept)
      p += (kProbTotal - p) >> shift;
    else
      p -= p >> shift;
    p = p < kMinProb ? kMinProb : (p > kMaxProb ? kMaxProb : p);
    if (shift < kAdaptShift) ++shift;
  }

 private:
  int Bit(int r, int c) const {
    if (r < 0 || c < 0 || c >= grid_) return 0;
    return mask_[static_cast<size_t>(r) * static_cast<size_t>(grid_) + static_cast<size_t>(c)] ? 1 : 0;
  }

  int grid_;
  const std::vector<uint8_t>& mask_;  // read only at cells already coded
  std::array<uint32_t, 16> probs_;  // P(kept) per context, of 2^16
  std::array<int, 16> shifts_;      // adaptation shift per context, 1 → kAdaptShift
};

void CheckMask(int grid, const std::vector<uint8_t>& keep) {
  MT_ENTROPY_CHECK(grid >= 1 && grid <= kMaxKeepGrid, "keep mask grid outside [1, kMaxKeepGrid]");
  MT_ENTROPY_CHECK(keep.size() == static_cast<size_t>(grid) * static_cast<size_t>(grid),
                   "keep mask size is not grid*grid");
}

}  // namespace

void EncodeKeepMask(RansEncoder& encoder, int grid, const std::vector<uint8_t>& keep) {
  CheckMask(grid, keep);
  KeepModel model(grid, keep);
  // Probabilities are computed in forward (decoding) order; RansEncoder::Finish does the reversal.
  for (int r = 0; r < grid; ++r)
    for (int c = 0; c < grid; ++c) {
      const bool kept = keep[static_cast<size_t>(r * grid + c)] != 0;
      const int ctx = model.Context(r, c);
      const uint32_t p = model.ProbKept(ctx);
      encoder.Put(KeepModel::Start(p, kept), KeepModel::Freq(p, kept));
      model.Update(ctx, kept);
    }
}

absl::StatusOr<std::vector<uint8_t>> DecodeKeepMask(RansDecoder& decoder, int grid) {
  if (grid < 1 || grid > kMaxKeepGrid)
    return absl::InvalidArgumentError(absl::StrCat("keep mask grid ", grid, " is outside [1, ", kMaxKeepGrid, "]"));
  std::vector<uint8_t> keep(static_cast<size_t>(grid) * static_cast<size_t>(grid), 0);
  KeepModel model(grid, keep);
  for (int r = 0; r < grid; ++r)
    for (int c = 0; c < grid; ++c) {
      const int ctx = model.Context(r, c);
      const uint32_t p = model.ProbKept(ctx);
      const bool kept = decoder.PeekCumulative() < p;
      if (absl::Status s = decoder.Advance(KeepModel::Start(p, kept), KeepModel::Freq(p, kept)); !s.ok()) return s;
      keep[static_cast<size_t>(r * grid + c)] = kept ? 1 : 0;
      model.Update(ctx, kept);
    }
  return keep;
}

double KeepMaskBits(int grid, const std::vector<uint8_t>& keep) {
  CheckMask(grid, keep);
  KeepModel model(grid, keep);
  double bits = 0;
  for (int r = 0; r < grid; ++r)
    for (int c = 0; c < grid; ++c) {
      const bool kept = keep[static_cast<size_t>(r * grid + c)] != 0;
      const int ctx = model.Context(r, c);
      bits += kProbBits - std::log2(static_cast<double>(KeepModel::Freq(model.ProbKept(ctx), kept)));
      model.Update(ctx, kept);
    }
  return bits;
}

}  // namespace mt
