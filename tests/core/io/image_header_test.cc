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

}  // namespace
}  // namespace mt
