// FLOP counts of the models from their options, against sums worked out by hand for tiny
// configurations (each term written out in the comments: 2 × multiply-adds).
#include "core/model/flops.h"

#include <gtest/gtest.h>

namespace mt {
namespace {

TEST(FlopsTest, VitBlock) {
  // 5 tokens, width 4, ratio 2: matmuls 2·5·4²·(3 + 1 + 2·2) = 1280; attention 4·5²·4 = 400.
  EXPECT_DOUBLE_EQ(VitBlockFlops(5, 4, 2), 1680);
}

TEST(FlopsTest, CnnMasker) {
  MaskerOptions o;
  o.kind = MaskerKind::kCnn;
  o.img_size = 8;
  o.patch_size = 4;
  o.cnn_channels = 2;
  o.cnn_grid_blocks = 1;
  // Stem on 64 pixels: 3×3 3→2 (2·9·3·2 = 108) + 3×3 2→2 (72) = 180 → 11,520.
  // Grid on 4 patches: 4×4 2→4 (256) + one 3×3 4→4 (288) + 1×1 4→1 (8) = 552 → 2,208.
  EXPECT_DOUBLE_EQ(MaskerFlops(o), 13728);
}

TEST(FlopsTest, TransformerMasker) {
  MaskerOptions o;
  o.img_size = 8;
  o.patch_size = 4;
  o.embed_dim = 4;
  o.depth = 1;
  o.mlp_ratio = 2;
  // 4 patches: embed 4·(2·16·3·4) = 1,536; one block on 4 tokens 2·4·16·8 + 4·16·4 = 1,280;
  // head 4·2·(4·8 + 8) = 320.
  EXPECT_DOUBLE_EQ(MaskerFlops(o), 3136);
}

TEST(FlopsTest, MaeEncoderAndDecoder) {
  MaskedAutoencoderOptions o;
  o.img_size = 8;
  o.patch_size = 4;  // 4 patches of 48 values
  o.embed_dim = 4;
  o.depth = 1;
  o.decoder_embed_dim = 2;
  o.decoder_depth = 1;
  o.mlp_ratio = 2;
  // One visible token: embed 2·48·4 = 384; one block on 2 tokens 2·2·16·8 + 4·4·4 = 576;
  // decoder_embed on 2 tokens 2·2·4·2 = 32.
  EXPECT_DOUBLE_EQ(MaeEncoderFlops(o, 1), 992);
  // Decoder block on 5 tokens of width 2: 2·5·4·8 + 4·25·2 = 520; head 4·2·2·48 = 768.
  EXPECT_DOUBLE_EQ(MaeDecoderFlops(o), 1288);
  // More visible tokens cost more.
  EXPECT_GT(MaeEncoderFlops(o, 4), MaeEncoderFlops(o, 1));
}

TEST(FlopsTest, ConvCodecPerPixel) {
  ConvCodecOptions o;
  o.hidden_channels = 2;
  o.latent_channels = 1;
  // Analysis: 5×5 3→2 at 1/4 (300/4 = 75), 2→2 at 1/16 and 1/64 (200/16 + 200/64 = 15.625),
  // 2→1 at 1/256 (100/256 = 0.390625), GDN 1×1 2→2 (8) at 1/4 + 1/16 + 1/64 (2.625).
  EXPECT_DOUBLE_EQ(ConvAnalysisFlopsPerPixel(o), 93.640625);
  // Synthesis: 3×3 1→8 at 1/256 (0.5625), 2→8 at 1/64 and 1/16 (4.5 + 18), 2→12 at 1/4 (108),
  // inverse GDN at 1/64 + 1/16 + 1/4 (2.625).
  EXPECT_DOUBLE_EQ(ConvSynthesisFlopsPerPixel(o), 133.6875);
  // Wide enough for the phase convolutions (25 taps): 1→16 at 1/256 (3.125), 16→16 at 1/64 and
  // 1/16 (200 + 800); 16→3 stays 3×3 to 12 (864); inverse GDN 512 × 0.328125 (168).
  o.hidden_channels = 16;
  EXPECT_DOUBLE_EQ(ConvSynthesisFlopsPerPixel(o), 2035.125);
}

}  // namespace
}  // namespace mt
