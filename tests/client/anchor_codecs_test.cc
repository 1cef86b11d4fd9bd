// mt-client bench's anchor codecs: every compiled-in anchor round-trips a photo-like image at the
// right size with a quality that follows its setting, its bytes fall with its setting, and bad
// bytes give a status, not a crash.
#include "client/anchor_codecs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

namespace mt::client {
namespace {

constexpr int kWidth = 96, kHeight = 64;

// Deterministic photo-like content: smooth gradients and a soft sinusoid (the "sky" and "shading"),
// a bright rectangle and a dark diagonal bar (hard edges), and a fine checker patch (texture).
Rgb8 SyntheticPhoto() {
  Rgb8 img{kWidth, kHeight, std::vector<uint8_t>(3 * kWidth * kHeight)};
  for (int y = 0; y < kHeight; ++y)
    for (int x = 0; x < kWidth; ++x) {
      double r = 40 + 150.0 * x / (kWidth - 1);
      double g = 60 + 120.0 * y / (kHeight - 1);
      double b = 128 + 60 * std::sin(x / 9.0) * std::cos(y / 7.0);
      if (x >= 56 && x < 84 && y >= 10 && y < 30) r = 230, g = 210, b = 90;   // rectangle
      if (std::abs((x - 10) - (y * 3) / 4) < 3) r *= 0.3, g *= 0.3, b *= 0.4;  // diagonal bar
      if (x >= 16 && x < 32 && y >= 40 && y < 56 && ((x / 2 + y / 2) % 2 == 0)) r += 35, g += 35, b += 35;  // texture
      uint8_t* p = &img.pixels[3 * (static_cast<size_t>(y) * kWidth + x)];
      p[0] = static_cast<uint8_t>(std::clamp(std::lround(r), 0L, 255L));
      p[1] = static_cast<uint8_t>(std::clamp(std::lround(g), 0L, 255L));
      p[2] = static_cast<uint8_t>(std::clamp(std::lround(b), 0L, 255L));
    }
  return img;
}

double Psnr(const Rgb8& a, const Rgb8& b) {
  double se = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const double d = static_cast<double>(a.pixels[i]) - b.pixels[i];
    se += d * d;
  }
  const double mse = se / static_cast<double>(a.pixels.size());
  return mse == 0 ? 100.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

// Thresholds on the synthetic image for the sweep's lowest-rate and highest-rate settings. Measured
// here (OpenCV 4.6's libjpeg-turbo and libwebp, libavif 0.11.1 + aom 3.6, libjxl 0.7), low → high:
// jpeg q1 20.1 → q90 34.7 dB (4:2:0 chroma blurs the coloured edges), webp q1 26.5 → q90 35.6,
// avif q60 25.8 → q4 48.3, jxl d25 25.3 → d0.5 42.2. The bounds leave >= 2 dB of room.
constexpr double kMinPsnrHighQuality = 32.0;
constexpr double kMaxPsnrLowQuality = 28.5;
constexpr double kMinPsnrLowQuality = 17.0;  // still the same picture, not noise
constexpr double kMinPsnrGain = 6.0;         // highest-rate setting over the lowest-rate one

class AnchorCodecTest : public ::testing::TestWithParam<const AnchorCodec*> {};

TEST_P(AnchorCodecTest, RoundTripKeepsSizeAndQualityFollowsTheSetting) {
  const AnchorCodec& codec = *GetParam();
  const Rgb8 image = SyntheticPhoto();
  const std::vector<int>& settings = codec.settings();
  ASSERT_GE(settings.size(), 3u);
  const int low = settings.front(), mid = settings[settings.size() / 2], high = settings.back();
  double psnr[3];
  size_t bytes[3];
  int i = 0;
  for (int s : {low, mid, high}) {
    absl::StatusOr<std::string> encoded = codec.Encode(image, s);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    absl::StatusOr<Rgb8> decoded = codec.Decode(*encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->width, kWidth);
    EXPECT_EQ(decoded->height, kHeight);
    ASSERT_EQ(decoded->pixels.size(), image.pixels.size());
    bytes[i] = encoded->size();
    psnr[i] = Psnr(image, *decoded);
    std::printf("  %s setting %d: %zu bytes (%.3f bpp), PSNR %.2f dB\n", std::string(codec.name()).c_str(), s,
                bytes[i], 8.0 * bytes[i] / (kWidth * kHeight), psnr[i]);
    ++i;
  }
  // Settings run from the lowest rate to the highest.
  EXPECT_LT(bytes[0], bytes[1]);
  EXPECT_LT(bytes[1], bytes[2]);
  EXPECT_GT(psnr[2], kMinPsnrHighQuality);
  EXPECT_LT(psnr[0], kMaxPsnrLowQuality);
  EXPECT_GT(psnr[0], kMinPsnrLowQuality);
  EXPECT_GT(psnr[2] - psnr[0], kMinPsnrGain);
}

TEST_P(AnchorCodecTest, EncodingIsDeterministic) {
  const AnchorCodec& codec = *GetParam();
  const Rgb8 image = SyntheticPhoto();
  const int s = codec.settings()[codec.settings().size() / 2];
  absl::StatusOr<std::string> a = codec.Encode(image, s), b = codec.Encode(image, s);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST_P(AnchorCodecTest, BadBytesGiveAStatusNamingTheCodec) {
  const AnchorCodec& codec = *GetParam();
  absl::StatusOr<std::string> encoded = codec.Encode(SyntheticPhoto(), codec.settings().back());
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  std::string garbage(1000, '\0');
  uint32_t state = 12345;
  for (char& c : garbage) state = state * 1664525u + 1013904223u, c = static_cast<char>(state >> 24);
  std::string garbled_body = *encoded;  // a valid header, then noise
  for (size_t k = 40; k < garbled_body.size(); ++k) garbled_body[k] = garbage[k % garbage.size()];
  const std::pair<const char*, std::string> cases[] = {
      {"empty", ""},
      {"one byte", encoded->substr(0, 1)},
      {"header only", encoded->substr(0, 16)},
      {"truncated to half", encoded->substr(0, encoded->size() / 2)},
      {"missing last byte", encoded->substr(0, encoded->size() - 1)},
      {"garbage", garbage},
  };
  for (const auto& [what, bytes] : cases) {
    absl::StatusOr<Rgb8> decoded = codec.Decode(bytes);
    EXPECT_FALSE(decoded.ok()) << codec.name() << ": " << what;
    if (!decoded.ok()) {
      EXPECT_NE(std::string(decoded.status().message()).find(std::string(codec.name())), std::string::npos)
          << decoded.status();
    }
  }
  // A valid header with a noisy body may decode to noise or fail, but must not crash.
  absl::StatusOr<Rgb8> noisy = codec.Decode(garbled_body);
  if (noisy.ok()) {
    EXPECT_EQ(noisy->pixels.size(), 3 * static_cast<size_t>(noisy->width) * noisy->height);
  }
}

TEST_P(AnchorCodecTest, RejectsBadImagesAndSettings) {
  const AnchorCodec& codec = *GetParam();
  Rgb8 short_buffer = SyntheticPhoto();
  short_buffer.pixels.pop_back();
  EXPECT_FALSE(codec.Encode(short_buffer, codec.settings().back()).ok());
  EXPECT_FALSE(codec.Encode(Rgb8{}, codec.settings().back()).ok());
  EXPECT_FALSE(codec.Encode(SyntheticPhoto(), -1).ok());
  EXPECT_FALSE(codec.Encode(SyntheticPhoto(), 1000).ok());
}

INSTANTIATE_TEST_SUITE_P(Compiled, AnchorCodecTest, ::testing::ValuesIn(AnchorCodecs()),
                         [](const ::testing::TestParamInfo<const AnchorCodec*>& info) {
                           return std::string(info.param->name());
                         });

TEST(AnchorRegistryTest, JpegAndWebpKeepTheBenchSweepAndEveryAnchorIsListedOnce) {
  const std::vector<int> kBenchQualities = {1, 3, 5, 8, 10, 15, 20, 25, 30, 40, 50, 70, 90};
  ASSERT_NE(FindAnchorCodec("jpeg"), nullptr);
  ASSERT_NE(FindAnchorCodec("webp"), nullptr);
  EXPECT_EQ(FindAnchorCodec("jpeg")->settings(), kBenchQualities);
  EXPECT_EQ(FindAnchorCodec("webp")->settings(), kBenchQualities);
  EXPECT_EQ(FindAnchorCodec("png"), nullptr);
  std::vector<std::string> names;
  for (const AnchorCodec* c : AnchorCodecs()) names.emplace_back(c->name());
  for (const MissingAnchor& m : MissingAnchorCodecs()) {
    names.push_back(m.name);
    EXPECT_NE(m.reason.find("-dev"), std::string::npos) << m.reason;  // names the Debian package
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"avif", "jpeg", "jxl", "webp"}));
  for (const MissingAnchor& m : MissingAnchorCodecs()) std::printf("  compiled out: %s (%s)\n", m.name.c_str(), m.reason.c_str());
}

}  // namespace
}  // namespace mt::client
