// libFuzzer target: arbitrary bytes as a hyperprior latent stream (core/entropy/hyper_stream.h) of
// 1–3 tiles (grid 8, z grid 2, 3 side channels, 12 scale tables, C = 4: hyper_stream_tables.h; the
// first byte picks the tile count, the rest is the stream), decoded as the receiver does: Open →
// DecodeSides → the stand-in hyper-synthesis predicts every kept symbol's scale index → one
// DecodeResiduals per tile and pass (the selector byte also picks 1 or 2 passes, as a checkerboard
// context codes) → Finish(the receiver's checksum). Whatever arrives, the decoder must
// return a status (DATA_LOSS: the tables, grids and indices are valid) without crashing or reading
// out of bounds. Every tile it decodes must be well formed (keep 0/1, z only in coded side cells,
// K·C residuals). Finish must accept exactly the streams that end cleanly and carry the receiver's
// checksum; every stream that ends cleanly, whatever checksum it carries, must re-encode to exactly
// the same bytes (rANS decoding is the inverse of encoding on every stream it accepts).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/entropy/hyper_stream.h"
#include "tests/fuzz/hyper_stream_tables.h"

namespace {

// A failed step must be DATA_LOSS: nothing else is wrong with the fuzzer's tables or indices.
template <typename T>
bool Failed(const T& status_or) {
  if (status_or.ok()) return false;
  if (status_or.status().code() != absl::StatusCode::kDataLoss) __builtin_trap();
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mt::HyperTables* tables = new mt::HyperTables(mt::fuzz::HyperFuzzTables());
  constexpr int kGrid = mt::fuzz::kHyperFuzzGrid, kZGrid = mt::fuzz::kHyperFuzzZGrid;
  constexpr size_t kC = mt::fuzz::kHyperFuzzChannels;
  if (size == 0) return 0;
  const size_t count = mt::fuzz::HyperFuzzTileCount(data[0]), passes = mt::fuzz::HyperFuzzPassCount(data[0]);
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  absl::StatusOr<mt::HyperStreamDecoder> decoder = mt::HyperStreamDecoder::Open(*tables, kGrid, kZGrid, bytes);
  if (Failed(decoder)) return 0;
  absl::StatusOr<std::vector<mt::HyperTileSide>> sides = decoder->DecodeSides(count);
  if (Failed(sides)) return 0;
  if (sides->size() != count) __builtin_trap();
  const size_t z_channels = tables->side.size();
  std::vector<std::vector<int32_t>> indices(count);
  for (size_t t = 0; t < count; ++t) {
    const mt::HyperTileSide& side = (*sides)[t];
    if (side.keep.size() != static_cast<size_t>(kGrid * kGrid) ||
        side.z.size() != static_cast<size_t>(kZGrid * kZGrid) * z_channels)
      __builtin_trap();
    size_t kept = 0;
    for (uint8_t k : side.keep) {
      if (k > 1) __builtin_trap();
      kept += k;
    }
    const std::vector<uint8_t> coded = mt::SideCellsCoded(kGrid, kZGrid, side.keep);
    for (size_t i = 0; i < side.z.size(); ++i)
      if (!coded[i / z_channels] && side.z[i] != 0) __builtin_trap();
    indices[t] = mt::fuzz::HyperFuzzScaleIndex(*tables, side);
    if (indices[t].size() != kept * kC) __builtin_trap();
  }
  std::vector<mt::HyperTileResiduals> residuals;  // pass-major, as the stream holds them
  for (size_t pass = 0; pass < passes; ++pass)
    for (size_t t = 0; t < count; ++t) {
      const auto [begin, end] = mt::fuzz::HyperFuzzPassSymbols(indices[t].size(), passes, pass);
      std::vector<int32_t> index(indices[t].begin() + static_cast<std::ptrdiff_t>(begin),
                                 indices[t].begin() + static_cast<std::ptrdiff_t>(end));
      absl::StatusOr<std::vector<int32_t>> r = decoder->DecodeResiduals(index);
      if (Failed(r)) return 0;
      if (r->size() != index.size()) __builtin_trap();
      residuals.push_back({*std::move(r), std::move(index)});
    }

  // The sender's checksum is the stream's first 4 bytes (little endian). Finish(receiver's) must
  // succeed exactly when the stream ends cleanly (Finish(sender's)) and the two agree.
  uint32_t sent = 0;
  for (size_t b = 0; b < 4; ++b) sent |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[b])) << (8 * b);
  const uint32_t predicted = mt::fuzz::HyperFuzzChecksum(*tables, *sides, passes);
  const absl::Status accepted = decoder->Finish(predicted);
  const absl::Status clean = decoder->Finish(sent);
  if (!accepted.ok() && accepted.code() != absl::StatusCode::kDataLoss) __builtin_trap();
  if (!clean.ok() && clean.code() != absl::StatusCode::kDataLoss) __builtin_trap();
  if (accepted.ok() != (clean.ok() && predicted == sent)) __builtin_trap();
  if (!clean.ok()) return 0;

  absl::StatusOr<std::string> again = mt::EncodeHyperStream(*tables, kGrid, kZGrid, *sides, residuals, sent);
  if (!again.ok() || *again != bytes) __builtin_trap();
  double side_bits = 0;
  for (const mt::HyperTileSide& side : *sides) {
    const double bits = mt::HyperSideBits(*tables, kGrid, kZGrid, side);
    if (!std::isfinite(bits) || bits < 0) __builtin_trap();
    side_bits += bits;
  }
  // The sides are part of the rANS payload (after the 4 checksum bytes); rANS beats the ideal
  // length by at most ~0.55 %, far less than the >= 23 bits of state it always carries.
  if (side_bits / 8 > 1.01 * static_cast<double>(bytes.size() - 4)) __builtin_trap();
  return 0;
}
