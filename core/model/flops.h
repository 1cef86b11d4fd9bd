// Arithmetic cost of the models, counted from their options: 2 × multiply-adds of the matmuls
// and convolutions as executed (norms, activations and softmax are not counted; they are a few
// percent). One source for the admission budget (--max_request_gflop), the benches' compute
// floor and the FLOPs per megapixel the model card quotes. Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "core/model/conv_codec.h"
#include "core/model/mae.h"
#include "core/model/masker.h"

namespace mt {

// A pre-norm ViT block on `tokens` tokens of width `width`, MLP ratio `mlp_ratio`:
// qkv + projection + MLP matmuls and the two attention products.
double VitBlockFlops(double tokens, double width, double mlp_ratio);

// The masker on one img_size² tile (either backbone; lateral inhibition is not counted).
double MaskerFlops(const MaskerOptions& options);

// The MAE encoder on one tile with `tokens` visible patches (num_patches() = full context),
// including the patch embedding and decoder_embed (what a features payload carries).
double MaeEncoderFlops(const MaskedAutoencoderOptions& options, int64_t tokens);

// The MAE decoder on one tile (every patch position, plus the class token) and its pixel head.
double MaeDecoderFlops(const MaskedAutoencoderOptions& options);

// The conv codec's analysis (sender) and synthesis (receiver, sub-pixel form as executed) per
// image pixel.
double ConvAnalysisFlopsPerPixel(const ConvCodecOptions& options);
double ConvSynthesisFlopsPerPixel(const ConvCodecOptions& options);

}  // namespace mt
