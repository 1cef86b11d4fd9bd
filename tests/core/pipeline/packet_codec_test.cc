// Sender → receiver through core types only: PacketEncoder then PacketDecoder, checked against
// the in-process TileReconstructor, plus every validation status.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "core/codec/bitmap.h"
#include "core/pipeline/packet_decoder.h"
#include "core/pipeline/packet_encoder.h"
#include "core/pipeline/tile_reconstructor.h"
#include "tests/test_util.h"

namespace mt {
namespace {

class PacketCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::manual_seed(11);
    mae_ = MaskedAutoencoder(test::TinyMaeOptions());  // 8×8 tiles, patch 2: L = 16, D_dec = 16
    masker_ = Masker(test::TinyMaskerOptions());
    encoder_ = std::make_unique<PacketEncoder>(mae_, masker_);
    decoder_ = std::make_unique<PacketDecoder>(mae_, 1 << 20);
  }
  // Pixels on the uint8 lattice, so the pixel payload carries them exactly.
  static at::Tensor Image(int64_t h, int64_t w) { return at::randint(0, 256, {3, h, w}).to(at::kFloat) / 255.0; }
  static EncodeOptions TopK(double ratio, PayloadKind payload, Precision precision) {
    EncodeOptions o;
    o.selection.mode = SelectionPolicy::Mode::kTopK;
    o.selection.keep_ratio = ratio;
    o.payload = payload;
    o.precision = precision;
    return o;
  }
  ImagePacket Packet(PayloadKind payload = PayloadKind::kFeatures, Precision precision = Precision::kFp32) {
    return encoder_->Encode(Image(8, 8), "img", TopK(0.25, payload, precision))->packet;
  }

  MaskedAutoencoder mae_{nullptr};
  Masker masker_{nullptr};
  std::unique_ptr<PacketEncoder> encoder_;
  std::unique_ptr<PacketDecoder> decoder_;
};

TEST_F(PacketCodecTest, Fp32FeaturesDecodeToTheInProcessDecoderImage) {
  at::Tensor image = Image(8, 8);
  absl::StatusOr<EncodedImage> e = encoder_->Encode(image, "one", TopK(0.25, PayloadKind::kFeatures, Precision::kFp32));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->kept, 4);  // round(0.25 · 16)
  EXPECT_EQ(PayloadBytes(e->packet), 2 + 5 * 16 * 4);  // bitmap + (cls + 4 tokens) × 16 fp32
  absl::StatusOr<DecodedImage> d = decoder_->Decode(e->packet);
  ASSERT_TRUE(d.ok()) << d.status();
  PatchSelector top4 = *PatchSelector::Create({SelectionPolicy::Mode::kTopK, 0.5, 0.25});
  TileReconstruction ref = TileReconstructor(mae_, masker_).Reconstruct(image, top4, EncoderContext::kFullContext);
  EXPECT_TRUE(at::equal(d->keep[0], ref.keep));
  EXPECT_TRUE(at::allclose(d->image, ref.decoded, 1e-5, 1e-6)) << (d->image - ref.decoded).abs().max();
}

TEST_F(PacketCodecTest, PixelsDecodeToTheVisibleOnlyComposite) {
  at::Tensor image = Image(8, 8);
  absl::StatusOr<EncodedImage> e = encoder_->Encode(image, "px", TopK(0.25, PayloadKind::kPixels, Precision::kFp32));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(PayloadBytes(e->packet), 2 + 4 * 2 * 2 * 3);  // bitmap + 4 patches of 12 bytes
  absl::StatusOr<DecodedImage> d = decoder_->Decode(e->packet);
  ASSERT_TRUE(d.ok()) << d.status();
  PatchSelector top4 = *PatchSelector::Create({SelectionPolicy::Mode::kTopK, 0.5, 0.25});
  TileReconstruction ref = TileReconstructor(mae_, masker_).Reconstruct(image, top4, EncoderContext::kVisibleOnly);
  EXPECT_TRUE(at::allclose(d->image, ref.composite, 1e-5, 1e-6)) << (d->image - ref.composite).abs().max();
}

TEST_F(PacketCodecTest, TilesANonMultipleImageAndKeepsPixelsExactly) {
  at::Tensor image = Image(13, 19);  // 2 × 3 tiles of 8, padded
  absl::StatusOr<EncodedImage> e =
      encoder_->Encode(image, "big", TopK(0.3, PayloadKind::kFeaturesAndPixels, Precision::kFp16));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->packet.tiles.size(), 6u);
  EXPECT_EQ(e->kept, 29);  // round(0.3 · 96)
  absl::StatusOr<DecodedImage> d = decoder_->Decode(e->packet);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->image.sizes(), (at::IntArrayRef{3, 13, 19}));
  // Every kept patch that lies inside the image comes back bit-exact.
  int64_t checked = 0;
  for (int64_t t = 0; t < 6; ++t)
    for (int64_t i = 0; i < 16; ++i) {
      if (!d->keep[t][i].item<bool>()) continue;
      const int64_t y = (t / 3) * 8 + (i / 4) * 2, x = (t % 3) * 8 + (i % 4) * 2;
      if (y + 2 > 13 || x + 2 > 19) continue;
      EXPECT_TRUE(at::equal(d->image.narrow(1, y, 2).narrow(2, x, 2), image.narrow(1, y, 2).narrow(2, x, 2)));
      ++checked;
    }
  EXPECT_GT(checked, 10);
}

TEST_F(PacketCodecTest, ByteBudgetKeepsAsManyPatchesAsFit) {
  EncodeOptions o = TopK(0, PayloadKind::kFeatures, Precision::kInt8);
  o.selection.mode = SelectionPolicy::Mode::kByteBudget;
  o.selection.max_bytes = 2 * (2 + 20) + 7 * 20 + 19;  // 2 tiles (bitmap + cls), 7 tokens of 16+4 B, 19 spare
  absl::StatusOr<EncodedImage> e = encoder_->Encode(Image(8, 16), "budget", o);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->kept, 7);
  EXPECT_LE(PayloadBytes(e->packet), o.selection.max_bytes);
  EXPECT_TRUE(decoder_->Decode(e->packet).ok());
}

TEST_F(PacketCodecTest, Int8AndFp16DecodeCloseToFp32) {
  at::Tensor image = Image(8, 8);
  auto decode = [&](Precision p) {
    return decoder_->Decode(encoder_->Encode(image, "q", TopK(0.5, PayloadKind::kFeatures, p))->packet)->image;
  };
  at::Tensor ref = decode(Precision::kFp32);
  EXPECT_LT((decode(Precision::kFp16) - ref).abs().max().item<double>(), 2e-3);
  EXPECT_LT((decode(Precision::kInt8) - ref).abs().max().item<double>(), 5e-2);
}

TEST_F(PacketCodecTest, Bf16ComputeDecodesCloseToFp32) {
  // Same kept patches (uniform grid), so only the arithmetic differs.
  at::Tensor image = Image(16, 16);
  EncodeOptions o = TopK(0.25, PayloadKind::kFeatures, Precision::kFp32);
  o.source = KeepSource::kUniformGrid;
  PacketEncoder bf16_encoder(mae_, masker_, ComputePrecision::kBFloat16);
  PacketDecoder bf16_decoder(mae_, 1 << 20, ComputePrecision::kBFloat16);
  absl::StatusOr<EncodedImage> e32 = encoder_->Encode(image, "a", o), e16 = bf16_encoder.Encode(image, "a", o);
  ASSERT_TRUE(e32.ok() && e16.ok());
  EXPECT_TRUE(at::equal(e32->keep, e16->keep));
  at::Tensor ref = decoder_->Decode(e32->packet)->image;
  at::Tensor bf16 = bf16_decoder.Decode(e16->packet)->image;
  EXPECT_EQ(bf16.scalar_type(), at::kFloat);
  // bf16 keeps 8 mantissa bits (relative error ~4e-3 per op): close, but not the same bits.
  const double max_diff = (bf16 - ref).abs().max().item<double>();
  EXPECT_GT(max_diff, 0.0);
  EXPECT_LT(max_diff, 0.05);
  EXPECT_LT((bf16 - ref).abs().mean().item<double>(), 0.01);
  // Outside the pipeline calls the thread is back to fp32.
  EXPECT_EQ(at::mm(at::rand({4, 4}), at::rand({4, 4})).scalar_type(), at::kFloat);
}

TEST_F(PacketCodecTest, ValidationNamesTheFieldAndPicksTheStatus) {
  auto code = [&](const ImagePacket& p) { return decoder_->Validate(p).code(); };
  auto message = [&](const ImagePacket& p) { return std::string(decoder_->Validate(p).message()); };
  ImagePacket good = Packet();
  ASSERT_TRUE(decoder_->Validate(good).ok());

  ImagePacket p = good;
  p.model_fingerprint = "0000000000000000";
  EXPECT_EQ(code(p), absl::StatusCode::kFailedPrecondition);
  p = good;
  p.patch_size = 4;
  EXPECT_EQ(code(p), absl::StatusCode::kFailedPrecondition);
  p = good;
  p.feature_dim = 32;
  EXPECT_EQ(code(p), absl::StatusCode::kFailedPrecondition);
  p = good;
  p.tiles[0].features.pop_back();
  EXPECT_EQ(code(p), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(message(p).rfind("tiles[0].features", 0), 0u) << message(p);
  p = good;
  p.tiles[0].keep_bitmap += "x";
  EXPECT_EQ(message(p).rfind("tiles[0].keep_bitmap", 0), 0u) << message(p);
  p = good;
  const float inf = std::numeric_limits<float>::infinity();
  std::memcpy(p.tiles[0].features.data() + 8, &inf, 4);
  EXPECT_EQ(code(p), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(message(p).find("non-finite"), std::string::npos);
  p = good;
  p.tiles.push_back(p.tiles[0]);
  EXPECT_EQ(message(p).rfind("tiles: 2 given", 0), 0u) << message(p);
  p = good;
  p.tiles[0].pixels = std::string(12, '\0');
  EXPECT_EQ(code(p), absl::StatusCode::kInvalidArgument);
  p = good;
  p.id = "../../x";
  EXPECT_EQ(code(p), absl::StatusCode::kInvalidArgument);
  p = good;
  p.height = 0;
  EXPECT_EQ(code(p), absl::StatusCode::kInvalidArgument);
  p = good;
  p.height = p.width = 4096;  // 16 M pixels > the 1 M limit
  EXPECT_EQ(code(p), absl::StatusCode::kResourceExhausted);

  ImagePacket px = Packet(PayloadKind::kPixels);
  ASSERT_TRUE(decoder_->Validate(px).ok());
  px.tiles[0].pixels.pop_back();
  EXPECT_EQ(message(px).rfind("tiles[0].pixels", 0), 0u) << message(px);
}

TEST_F(PacketCodecTest, BaselineSourcesKeepTheSameCountPerTile) {
  EncodeOptions o = TopK(0.25, PayloadKind::kPixels, Precision::kFp32);
  o.source = KeepSource::kUniformGrid;
  absl::StatusOr<EncodedImage> grid = encoder_->Encode(Image(8, 16), "grid", o);
  ASSERT_TRUE(grid.ok()) << grid.status();
  // 4 of 16 patches per tile on a 2×2 lattice at cell centres of the 4×4 patch grid: 5, 7, 13, 15.
  for (int64_t t = 0; t < 2; ++t)
    EXPECT_TRUE(at::equal(KeptIndices(grid->keep[t]), at::tensor({5, 7, 13, 15}, at::kLong))) << grid->keep[t];
  o.source = KeepSource::kRandom;
  o.seed = 3;
  absl::StatusOr<EncodedImage> random = encoder_->Encode(Image(8, 16), "random", o);
  ASSERT_TRUE(random.ok());
  EXPECT_EQ(random->keep.sum(1).eq(4).all().item<bool>(), true);
  EXPECT_TRUE(decoder_->Decode(random->packet).ok());
  o.selection.mode = SelectionPolicy::Mode::kThreshold;
  EXPECT_EQ(encoder_->Encode(Image(8, 8), "x", o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PacketCodecTest, TilesWithNoKeptPatchDecode) {
  EncodeOptions o = TopK(0, PayloadKind::kPixels, Precision::kFp32);
  o.selection.mode = SelectionPolicy::Mode::kThreshold;
  o.selection.threshold = 0.999999;  // nothing passes
  for (PayloadKind k : {PayloadKind::kPixels, PayloadKind::kFeatures}) {
    o.payload = k;
    absl::StatusOr<EncodedImage> e = encoder_->Encode(Image(8, 8), "none", o);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->kept, 0);
    absl::StatusOr<DecodedImage> d = decoder_->Decode(e->packet);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_TRUE(at::isfinite(d->image).all().item<bool>());
  }
}

// Pixels tiles are encoded in groups of equal keep count and decoded in shared forwards across
// the groups (flushed at kForwardChunkRows tiles): every tile still gets its own visible-only
// reconstruction.
TEST_F(PacketCodecTest, PixelsTilesOfDifferentKeepCountsDecodeAsEachAlone) {
  EncodeOptions o = TopK(0, PayloadKind::kPixels, Precision::kFp32);
  o.selection.mode = SelectionPolicy::Mode::kThreshold;
  // 606 tiles of 8×8 (more than one decoder forward), each of its own contrast so that the masker
  // keeps different counts.
  at::Tensor image = Image(16, 8 * 303);
  const at::Tensor contrast = at::linspace(0, 1, 606).view({2, 1, 303, 1}).expand({2, 8, 303, 8}).reshape({16, 8 * 303});
  image = ((image - 0.5) * contrast + 0.5).mul(255).round().div(255);
  const at::Tensor tiles = image.unfold(1, 8, 8).unfold(2, 8, 8).permute({1, 2, 0, 3, 4}).reshape({606, 3, 8, 8});
  const at::Tensor probs = at::sigmoid(masker_->forward(tiles));
  // The untrained masker's scores sit near 1: threshold in the widest gap of the middle half of
  // them, so that a tile scored alone (a different batch size rounds differently) keeps the same.
  const at::Tensor sorted = std::get<0>(probs.flatten().sort());
  const int64_t n = sorted.size(0);
  const at::Tensor mid = sorted.narrow(0, n / 4, n / 2);
  const int64_t gap = (mid.narrow(0, 1, n / 2 - 1) - mid.narrow(0, 0, n / 2 - 1)).argmax().item<int64_t>();
  o.selection.threshold = (mid[gap].item<double>() + mid[gap + 1].item<double>()) / 2;
  absl::StatusOr<EncodedImage> e = encoder_->Encode(image, "varied", o);
  ASSERT_TRUE(e.ok()) << e.status();
  absl::StatusOr<DecodedImage> d = decoder_->Decode(e->packet);
  ASSERT_TRUE(d.ok()) << d.status();
  const at::Tensor counts = d->keep.sum(1);
  EXPECT_GT(std::get<0>(at::_unique(counts)).size(0), 2) << at::bincount(counts);  // several groups of K
  PatchSelector threshold = *PatchSelector::Create(o.selection);
  TileReconstructor ref(mae_, masker_);
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t c = 0; c < 303; ++c) {
      const at::Tensor tile = image.narrow(1, r * 8, 8).narrow(2, c * 8, 8);
      TileReconstruction alone = ref.Reconstruct(tile, threshold, EncoderContext::kVisibleOnly);
      const at::Tensor got = d->image.narrow(1, r * 8, 8).narrow(2, c * 8, 8);
      ASSERT_TRUE(at::allclose(got, alone.composite, 1e-5, 1e-5))
          << "tile " << r << "," << c << ": " << (got - alone.composite).abs().max();
    }
}

}  // namespace
}  // namespace mt

namespace mt {
namespace {

// A request whose deadline passed while it was queued is answered DEADLINE_EXCEEDED, uncomputed;
// the rest of its batch is encoded as usual.
TEST_F(PacketCodecTest, ExpiredRequestsAreNotComputed) {
  std::vector<EncodeRequest> requests = {
      {Image(8, 8), "late", TopK(0.25, PayloadKind::kFeatures, Precision::kFp32),
       std::chrono::system_clock::now() - std::chrono::seconds(1)},
      {Image(8, 8), "on-time", TopK(0.25, PayloadKind::kFeatures, Precision::kFp32),
       std::chrono::system_clock::now() + std::chrono::seconds(60)},
  };
  std::vector<absl::StatusOr<EncodedImage>> batch = encoder_->EncodeBatch(requests);
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(batch[0].status().message().find("not computed"), std::string::npos);
  ASSERT_TRUE(batch[1].ok()) << batch[1].status();
  EXPECT_EQ(batch[1]->batch_images, 1);
}

// A request cancelled by its caller while its batch runs stops between model slices: the masker
// of a 600-tile image (two slices of 300) runs its first slice only, and the encoder never.
TEST_F(PacketCodecTest, ABatchWhoseEveryRequestIsGoneStopsBetweenModelSlices) {
  int polls = 0;
  EncodeRequest big{Image(8 * 20, 8 * 30), "big", TopK(0.25, PayloadKind::kFeatures, Precision::kFp32)};
  big.cancelled = [&] { return ++polls > 2; };  // wanted when queued and at the first slice
  std::vector<absl::StatusOr<EncodedImage>> batch = encoder_->EncodeBatch({big});
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].status().code(), absl::StatusCode::kCancelled) << batch[0].status();
  EXPECT_NE(batch[0].status().message().find("'big' was cancelled by its caller during the masker"), std::string::npos)
      << batch[0].status();
  EXPECT_EQ(polls, 4) << "queued, slice 1, slice 2 (gone: stop), and once more for the status";
  // Two requests in a batch: one gone is not enough to stop the other's work.
  EncodeRequest gone{Image(8, 8), "gone", TopK(0.25, PayloadKind::kFeatures, Precision::kFp32)};
  bool cancelled = false;
  gone.cancelled = [&] { return cancelled; };
  EncodeRequest wanted{Image(8 * 20, 8 * 30), "wanted", TopK(0.25, PayloadKind::kFeatures, Precision::kFp32)};
  wanted.cancelled = [&] {
    cancelled = true;  // "gone" is cancelled as soon as the stages start
    return false;
  };
  batch = encoder_->EncodeBatch({gone, wanted});
  EXPECT_TRUE(batch[1].ok()) << batch[1].status();
  // An expired deadline counts as gone too: DEADLINE_EXCEEDED, never computed.
  EncodeRequest late{Image(8, 8), "late", TopK(0.25, PayloadKind::kFeatures, Precision::kFp32),
                     std::chrono::system_clock::now() - std::chrono::seconds(1)};
  EXPECT_EQ(encoder_->EncodeBatch({late})[0].status().code(), absl::StatusCode::kDeadlineExceeded);
}

// The receiver's half: a decoder batch the caller abandons stops between model slices. A
// 600-tile features packet decodes in two slices of 300; abandoned after the first, the second
// never runs, every valid packet is CANCELLED and an invalid one keeps its own error.
TEST_F(PacketCodecTest, AnAbandonedDecoderBatchStopsBetweenModelSlices) {
  absl::StatusOr<EncodedImage> big =
      encoder_->Encode(Image(8 * 20, 8 * 30), "big", TopK(0.25, PayloadKind::kFeatures, Precision::kFp32));
  ASSERT_TRUE(big.ok()) << big.status();
  ImagePacket bad = big->packet;
  bad.model_fingerprint = "someone else's";
  int polls = 0;
  std::vector<absl::StatusOr<DecodedImage>> out =
      decoder_->DecodeBatch({&big->packet, &bad}, [&] { return ++polls > 1; });  // wanted at slice 1 only
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].status().code(), absl::StatusCode::kCancelled) << out[0].status();
  EXPECT_NE(out[0].status().message().find("decoding stopped during the MAE decoder"), std::string::npos)
      << out[0].status();
  EXPECT_EQ(out[1].status().code(), absl::StatusCode::kFailedPrecondition) << out[1].status();
  EXPECT_EQ(polls, 2) << "slice 1 (wanted), slice 2 (abandoned: stop)";
  // Never abandoned: the same image as without the predicate.
  polls = 0;
  absl::StatusOr<DecodedImage> kept = std::move(decoder_->DecodeBatch({&big->packet}, [&] { return ++polls < 0; })[0]);
  absl::StatusOr<DecodedImage> plain = decoder_->Decode(big->packet);
  ASSERT_TRUE(kept.ok() && plain.ok());
  EXPECT_EQ(polls, 2);
  EXPECT_TRUE(at::allclose(kept->image, plain->image, 1e-6, 1e-6));
}

// A batch of mixed requests (sizes, payloads, precisions, a bad id) gives per request what
// Encode()/Decode() give alone: same keep masks and bytes, same images within float tolerance.
TEST_F(PacketCodecTest, BatchesMatchSingleRequests) {
  std::vector<EncodeRequest> requests = {
      {Image(8, 8), "a", TopK(0.25, PayloadKind::kFeatures, Precision::kFp32)},
      {Image(13, 19), "b", TopK(0.5, PayloadKind::kPixels, Precision::kFp32)},
      {Image(8, 8), "../bad", TopK(0.25, PayloadKind::kFeatures, Precision::kFp16)},
      {Image(16, 9), "c", TopK(0.3, PayloadKind::kFeaturesAndPixels, Precision::kInt8)},
      {Image(8, 16), "d", TopK(0.25, PayloadKind::kPixels, Precision::kFp32)},
  };
  std::vector<absl::StatusOr<EncodedImage>> batch = encoder_->EncodeBatch(requests);
  ASSERT_EQ(batch.size(), requests.size());
  EXPECT_EQ(batch[2].status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<const ImagePacket*> packets;
  for (size_t i = 0; i < requests.size(); ++i) {
    absl::StatusOr<EncodedImage> alone = encoder_->Encode(requests[i].image, requests[i].id, requests[i].options);
    ASSERT_EQ(alone.ok(), batch[i].ok()) << i;
    if (!alone.ok()) continue;
    EXPECT_EQ(batch[i]->batch_images, 4);
    EXPECT_TRUE(at::equal(batch[i]->keep, alone->keep)) << i;
    ASSERT_EQ(batch[i]->packet.tiles.size(), alone->packet.tiles.size());
    EXPECT_EQ(PayloadBytes(batch[i]->packet), PayloadBytes(alone->packet)) << i;
    for (size_t t = 0; t < alone->packet.tiles.size(); ++t) {
      EXPECT_EQ(batch[i]->packet.tiles[t].pixels, alone->packet.tiles[t].pixels);
      EXPECT_EQ(batch[i]->packet.tiles[t].keep_bitmap, alone->packet.tiles[t].keep_bitmap);
    }
    packets.push_back(&batch[i]->packet);
  }
  ImagePacket broken = batch[0]->packet;
  broken.tiles[0].keep_bitmap.clear();
  packets.insert(packets.begin() + 1, &broken);
  std::vector<absl::StatusOr<DecodedImage>> decoded = decoder_->DecodeBatch(packets);
  ASSERT_EQ(decoded.size(), packets.size());
  EXPECT_EQ(decoded[1].status().code(), absl::StatusCode::kInvalidArgument);
  for (size_t i = 0; i < packets.size(); ++i) {
    if (i == 1) continue;
    absl::StatusOr<DecodedImage> alone = decoder_->Decode(*packets[i]);
    ASSERT_TRUE(alone.ok() && decoded[i].ok()) << i;
    EXPECT_EQ(decoded[i]->batch_images, 4);
    EXPECT_TRUE(at::equal(decoded[i]->keep, alone->keep));
    EXPECT_TRUE(at::allclose(decoded[i]->image, alone->image, 1e-5, 1e-5))
        << i << ": " << (decoded[i]->image - alone->image).abs().max();
  }
}

}  // namespace
}  // namespace mt
