// PeekImageHeader against OpenCV-encoded files of known size in every accepted format, and
// against truncated, malformed and bomb headers.
#include "core/io/image_header.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace mt {
namespace {

std::string Encoded(int w, int h, const std::string& ext) {
  cv::Mat m(h, w, CV_8UC3, cv::Scalar(10, 120, 240));
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(ext, m, buf)) << ext;
  return std::string(buf.begin(), buf.end());
}

TEST(ImageHeaderTest, ReadsTheSizeOfEveryAcceptedFormat) {
  const struct {
    const char* ext;
    const char* format;
  } kFormats[] = {{".png", "png"}, {".jpg", "jpeg"}, {".webp", "webp"}, {".bmp", "bmp"}, {".tiff", "tiff"}, {".ppm", "pnm"}};
  for (const auto& f : kFormats) {
    for (auto [w, h] : {std::pair{1, 1}, std::pair{37, 5}, std::pair{300, 701}}) {
      absl::StatusOr<ImageHeader> hdr = PeekImageHeader(Encoded(w, h, f.ext));
      ASSERT_TRUE(hdr.ok()) << f.ext << " " << w << "x" << h << ": " << hdr.status();
      EXPECT_EQ(hdr->format, f.format);
      EXPECT_EQ(hdr->width, w) << f.ext;
      EXPECT_EQ(hdr->height, h) << f.ext;
    }
  }
  // Lossless WebP has its own header layout (VP8L).
  cv::Mat m(9, 1000, CV_8UC3, cv::Scalar(1, 2, 3));
  std::vector<uchar> buf;
  ASSERT_TRUE(cv::imencode(".webp", m, buf, {cv::IMWRITE_WEBP_QUALITY, 101}));
  absl::StatusOr<ImageHeader> hdr = PeekImageHeader(std::string(buf.begin(), buf.end()));
  ASSERT_TRUE(hdr.ok()) << hdr.status();
  EXPECT_EQ(hdr->width, 1000);
  EXPECT_EQ(hdr->height, 9);
}

TEST(ImageHeaderTest, RefusesTruncatedMalformedAndUnknownInput) {
  const std::string png = Encoded(20, 10, ".png"), jpg = Encoded(20, 10, ".jpg");
  for (const std::string& bad : {std::string(), png.substr(0, 20), jpg.substr(0, 4), std::string("not an image at all"),
                                 std::string("GIF89a\x01\0\x01\0", 10), std::string("P6\n# only a comment"),
                                 std::string("P6 12 x\n")}) {
    absl::StatusOr<ImageHeader> hdr = PeekImageHeader(bad);
    EXPECT_EQ(hdr.status().code(), absl::StatusCode::kInvalidArgument) << bad.size() << " bytes";
  }
}

// A decompression bomb is judged by what its header declares: no pixel data needed.
TEST(ImageHeaderTest, ReportsDeclaredSizesOfBombs) {
  std::string png = Encoded(2, 2, ".png");
  // IHDR width/height (big-endian) at bytes 16..23: declare 100000 × 70000.
  for (auto [offset, value] : {std::pair{16, 100000u}, std::pair{20, 70000u}})
    for (int k = 0; k < 4; ++k) png[static_cast<size_t>(offset + k)] = static_cast<char>((value >> (24 - 8 * k)) & 0xFF);
  absl::StatusOr<ImageHeader> hdr = PeekImageHeader(png.substr(0, 33));
  ASSERT_TRUE(hdr.ok()) << hdr.status();
  EXPECT_EQ(hdr->width, 100000);
  EXPECT_EQ(hdr->height, 70000);
  absl::StatusOr<ImageHeader> pnm = PeekImageHeader("P5\n# bomb\n50000 60000\n255\n");
  ASSERT_TRUE(pnm.ok()) << pnm.status();
  EXPECT_EQ(pnm->width * pnm->height, int64_t{3000000000});
}

// A little-endian TIFF whose first IFD holds `entries` (tag, SHORT, count 1, value) and no pixels.
std::string TiffWithSizeTags(const std::vector<std::pair<uint16_t, uint16_t>>& entries) {
  std::string b("II*\0\x08\0\0\0", 8);
  auto le16 = [&](uint32_t v) { b += static_cast<char>(v & 0xFF), b += static_cast<char>((v >> 8) & 0xFF); };
  le16(static_cast<uint32_t>(entries.size()));
  for (auto [tag, value] : entries) {
    le16(tag), le16(3), le16(1), le16(0), le16(value), le16(0);
  }
  b += std::string(4, '\0');  // no next IFD
  return b;
}

// The bomb: ImageWidth/ImageLength first 12000 (what libtiff decodes), then 16 (what a
// last-wins reader reports). Refused, whichever copy a decoder would believe.
TEST(ImageHeaderTest, RefusesTiffsThatRepeatTheirSizeTags) {
  absl::StatusOr<ImageHeader> ok = PeekImageHeader(TiffWithSizeTags({{256, 40}, {257, 30}}));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->width, 40);
  EXPECT_EQ(ok->height, 30);
  for (const auto& entries : {std::vector<std::pair<uint16_t, uint16_t>>{{256, 12000}, {257, 12000}, {256, 16}, {257, 16}},
                              std::vector<std::pair<uint16_t, uint16_t>>{{256, 16}, {257, 16}, {257, 12000}}}) {
    absl::StatusOr<ImageHeader> hdr = PeekImageHeader(TiffWithSizeTags(entries));
    EXPECT_EQ(hdr.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(hdr.status().message().find("repeats tag"), std::string::npos) << hdr.status();
  }
}

}  // namespace
}  // namespace mt
