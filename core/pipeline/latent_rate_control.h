// Sender-side coding of one image's tiles for the latent payload, including the byte-budget
// selection: with a budget, patches are kept in the order of the masker's scores (over the
// whole image) while their entropy-coded cost fits.
// Thread-safety: stateless functions; safe to call concurrently.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "core/codec/tiling.h"
#include "core/codecs/tile_codec.h"

namespace mt {

struct LatentTiles {
  at::Tensor keep;                   // (N, L) bool: what was kept (the budget may have changed it)
  std::string stream;                // one rANS stream of all tiles
  double estimated_bits = 0;         // the tables' ideal bits of the stream
};

// latents (N, L, C) at `level`; keep (N, L) bool from the selection policy. max_bytes > 0: keep
// instead the best-scored patches (probs (N, L), highest first; ties by lower index) whose
// stream fits max_bytes, at least one patch. Stream bytes are the real encoded size.
LatentTiles EncodeSelectedLatents(const TileCodec& coder, const at::Tensor& latents, const at::Tensor& keep,
                              const at::Tensor& probs, int64_t level, int64_t max_bytes);


struct LevelChoice {
  int64_t level = 0;  // chosen step level
  double psnr = 0;    // PSNR (dB) of the 8-bit reconstruction at that level, as the receiver will store it
  int decodes = 0;    // reconstructions the search ran
};

// Rate control by quality: the coarsest (cheapest) step level whose reconstruction of `image`
// (3, H, W) reaches target_psnr dB, found by bisection over the levels (PSNR falls as the level
// rises); the finest level when none does. The sender holds the decoder, so it knows what the
// receiver will reconstruct. latents (N, L, C) and keep (N, L) are the image's tiles on `grid`.
LevelChoice ChooseLevelForPsnr(const TileCodec& coder, const at::Tensor& latents, const at::Tensor& keep,
                               const at::Tensor& image, const TileGrid& grid, double target_psnr);

// Keep mask (N, L) bool of the latent positions of `grid`'s tiles that cover some of the image
// (the rest is edge padding: not sent, zero at the receiver). `patch` pixels per position side.
at::Tensor ImageCells(const TileGrid& grid, int64_t patch);

// Rate control by bytes for codecs that code every position (!selects_positions()): the finest level
// whose stream fits max_bytes (bisection; bytes fall as the level rises). When even the coarsest
// level does not fit, that level keeps the positions with the most bits first while they fit
// (EncodeSelectedLatents with the positions' bits as scores). *level is set to the level used.
LatentTiles EncodeWithinBytes(const TileCodec& coder, const at::Tensor& latents, const at::Tensor& keep,
                              int64_t max_bytes, int64_t* level);

}  // namespace mt
