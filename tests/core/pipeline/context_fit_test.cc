// Spatial-context tables fitted to a codec's latents: stored in the checkpoint, covered by the
// fingerprint, used by the packet path end to end, and refused when malformed.
#include "core/pipeline/context_fit.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/codec/tiling.h"
#include "core/io/checkpoint.h"
#include "core/codecs/mae_bottleneck_tile_codec.h"
#include "core/pipeline/packet_decoder.h"
#include "core/pipeline/packet_encoder.h"
#include "tests/test_util.h"

namespace mt {
namespace {

// Smooth images: bilinear upsampling of random 3×3 colour grids (neighbouring patches alike).
std::vector<at::Tensor> SmoothImages(int count, int64_t h, int64_t w) {
  std::vector<at::Tensor> out;
  for (int i = 0; i < count; ++i)
    out.push_back(at::upsample_bilinear2d(at::rand({1, 3, 3, 3}), {h, w}, /*align_corners=*/true)[0]);
  return out;
}

class ContextFitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::manual_seed(3);
    factorized_ = test::TinyLatentCodec({0.02, 0.05, 0.1});
    codec_ = test::TinyLatentCodec({0.02, 0.05, 0.1});
    ContextFitOptions fit;
    fit.buckets = 3;
    ASSERT_TRUE(FitContextTables(codec_, SmoothImages(20, 32, 40), fit).ok());
  }
  LatentCodec factorized_{nullptr}, codec_{nullptr};
};

TEST_F(ContextFitTest, TablesAreStoredAndChangeTheFingerprint) {
  EXPECT_EQ(codec_->options().context_buckets, 3);
  absl::StatusOr<std::vector<LatentTables>> stored = codec_->ContextTables();
  ASSERT_TRUE(stored.ok()) << stored.status();
  const std::vector<LatentTables>& tables = *stored;
  ASSERT_EQ(tables.size(), 3u);
  for (const LatentTables& t : tables) {
    EXPECT_TRUE(ValidateLatentTables(t).ok());
    EXPECT_EQ(t.channels(), 3u);
  }
  std::shared_ptr<const MaeBottleneckTileCodec> with = *MaeBottleneckTileCodec::Create(codec_),
                                                 without = *MaeBottleneckTileCodec::Create(factorized_);
  EXPECT_TRUE(with->has_context());
  EXPECT_FALSE(without->has_context());
  EXPECT_NE(with->fingerprint(), without->fingerprint());
  // Saved and loaded: same tables, same fingerprint.
  const std::string path = test::TempDir() + "/context_codec.pt";
  ASSERT_TRUE(SaveCheckpoint(path, codec_).ok());
  absl::StatusOr<LatentCodec> back = LoadLatentCodec(path);
  ASSERT_TRUE(back.ok()) << back.status();
  absl::StatusOr<std::shared_ptr<const MaeBottleneckTileCodec>> loaded = MaeBottleneckTileCodec::Create(*back);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->fingerprint(), with->fingerprint());
  EXPECT_EQ((*back)->ContextTables()->at(1).tables[2][0].cdf, tables[1].tables[2][0].cdf);
}

TEST_F(ContextFitTest, PacketsRoundTripAndSmoothPhotosCostLess) {
  std::shared_ptr<const MaeBottleneckTileCodec> with = *MaeBottleneckTileCodec::Create(codec_),
                                                 without = *MaeBottleneckTileCodec::Create(factorized_);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  Masker masker(test::TinyMaskerOptions());
  EncodeOptions o;
  o.payload = PayloadKind::kLatent;
  o.latent_level = 1;
  o.selection.mode = SelectionPolicy::Mode::kTopK;
  size_t bytes_with = 0, bytes_without = 0;
  for (const at::Tensor& image : SmoothImages(4, 24, 32)) {
    for (double ratio : {1.0, 0.5}) {
      o.selection.keep_ratio = ratio;
      absl::StatusOr<EncodedImage> e = PacketEncoder(mae, masker, ComputePrecision::kFloat32, with).Encode(image, "a", o);
      absl::StatusOr<EncodedImage> f = PacketEncoder(mae, masker, ComputePrecision::kFloat32, without).Encode(image, "b", o);
      ASSERT_TRUE(e.ok() && f.ok());
      EXPECT_TRUE(at::equal(e->keep, f->keep));
      bytes_with += e->packet.latent.size();
      bytes_without += f->packet.latent.size();
      absl::StatusOr<DecodedImage> d = PacketDecoder(mae, 1 << 20, ComputePrecision::kFloat32, with).Decode(e->packet);
      absl::StatusOr<DecodedImage> g = PacketDecoder(mae, 1 << 20, ComputePrecision::kFloat32, without).Decode(f->packet);
      ASSERT_TRUE(d.ok() && g.ok()) << d.status() << g.status();
      // Same weights and symbols, other tables: the same reconstruction.
      EXPECT_TRUE(at::allclose(d->image, g->image, 1e-5, 1e-6));
      // The factorized receiver refuses the context stream by fingerprint.
      EXPECT_EQ(PacketDecoder(mae, 1 << 20, ComputePrecision::kFloat32, without).Decode(e->packet).status().code(),
                absl::StatusCode::kFailedPrecondition);
    }
  }
  EXPECT_LT(bytes_with, bytes_without);
}

TEST_F(ContextFitTest, MalformedStoredTablesAndBadFitsAreRefused) {
  codec_->ctx_cdf_sizes[0][1][2] = 1;  // a one-entry CDF is not a table
  absl::StatusOr<std::shared_ptr<const MaeBottleneckTileCodec>> coder = MaeBottleneckTileCodec::Create(codec_);
  EXPECT_EQ(coder.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(coder.status().message().find("level 0"), std::string::npos) << coder.status();
  ContextFitOptions fit;
  EXPECT_EQ(FitContextTables(factorized_, {}, fit).code(), absl::StatusCode::kFailedPrecondition);
  fit.buckets = 0;
  EXPECT_EQ(FitContextTables(factorized_, SmoothImages(1, 8, 8), fit).code(), absl::StatusCode::kInvalidArgument);
  LatentCodecOptions none;
  none.mae = test::TinyMaeOptions();
  LatentCodec untabled(none);
  EXPECT_EQ(FitContextTables(untabled, SmoothImages(1, 8, 8), ContextFitOptions{}).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mt
