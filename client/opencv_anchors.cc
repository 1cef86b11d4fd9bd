// JPEG and WebP anchors through OpenCV's imencode/imdecode, with the semantics of
// core/io/image_io.cc's EncodeImage/DecodeImageRgb (RGB→BGR, IMWRITE_{JPEG,WEBP}_QUALITY 1-100,
// IMREAD_UNCHANGED), so the bench's jpeg/webp rows keep their bytes.
#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "client/anchor_codecs.h"

namespace mt::client {
namespace {

class OpenCvAnchor final : public AnchorCodec {
 public:
  OpenCvAnchor(std::string_view name, std::string_view extension, int quality_flag)
      : name_(name), extension_(extension), quality_flag_(quality_flag) {}

  std::string_view name() const override { return name_; }
  std::string_view setting_meaning() const override { return "quality 1-100"; }
  const std::vector<int>& settings() const override {
    static const std::vector<int> kQualities = {1, 3, 5, 8, 10, 15, 20, 25, 30, 40, 50, 70, 90};
    return kQualities;
  }

  absl::StatusOr<std::string> Encode(const Rgb8& image, int quality) const override {
    if (absl::Status s = CheckRgb8(image, name_); !s.ok()) return s;
    if (quality < 1 || quality > 100)
      return absl::InvalidArgumentError(absl::StrCat(name_, ": quality must be 1-100, got ", quality));
    cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.pixels.data()));
    cv::Mat bgr;
    std::vector<uchar> out;
    try {
      cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
      if (!cv::imencode(extension_, bgr, out, {quality_flag_, quality}))
        return absl::InternalError(absl::StrCat(name_, ": OpenCV imencode failed"));
    } catch (const cv::Exception& e) {
      return absl::InternalError(absl::StrCat(name_, ": OpenCV imencode: ", e.what()));
    }
    return std::string(out.begin(), out.end());
  }

  absl::StatusOr<Rgb8> Decode(std::string_view bytes) const override {
    if (bytes.empty()) return absl::InvalidArgumentError(absl::StrCat(name_, ": no bytes to decode"));
    // libjpeg only warns about a premature end and fills the rest with grey, so OpenCV would
    // return a truncated JPEG as an image: insist on the end-of-image marker our encoder writes.
    if (name_ == "jpeg" && (bytes.size() < 4 || static_cast<uint8_t>(bytes[bytes.size() - 2]) != 0xFF ||
                            static_cast<uint8_t>(bytes.back()) != 0xD9))
      return absl::InvalidArgumentError("jpeg: no end-of-image marker (truncated or not a JPEG)");
    cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
    cv::Mat decoded, rgb;
    try {
      decoded = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
      if (decoded.empty())
        return absl::InvalidArgumentError(absl::StrCat(name_, ": OpenCV imdecode could not decode the bytes"));
      if (decoded.depth() != CV_8U)
        return absl::InvalidArgumentError(absl::StrCat(name_, ": decoded image is not 8-bit (depth ", decoded.depth(), ")"));
      switch (decoded.channels()) {
        case 1: cv::cvtColor(decoded, rgb, cv::COLOR_GRAY2RGB); break;
        case 3: cv::cvtColor(decoded, rgb, cv::COLOR_BGR2RGB); break;
        case 4: cv::cvtColor(decoded, rgb, cv::COLOR_BGRA2RGB); break;
        default:
          return absl::InvalidArgumentError(absl::StrCat(name_, ": unsupported channel count ", decoded.channels()));
      }
    } catch (const cv::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(name_, ": OpenCV imdecode: ", e.what()));
    }
    Rgb8 out{rgb.cols, rgb.rows, {}};
    out.pixels.resize(3 * static_cast<size_t>(rgb.cols) * rgb.rows);
    for (int y = 0; y < rgb.rows; ++y)  // cvtColor's output is continuous, but copy row by row anyway
      std::copy_n(rgb.ptr<uint8_t>(y), 3 * static_cast<size_t>(rgb.cols), out.pixels.data() + 3 * static_cast<size_t>(y) * rgb.cols);
    return out;
  }

 private:
  std::string name_, extension_;
  int quality_flag_;
};

}  // namespace

const AnchorCodec& JpegAnchor() {
  static const OpenCvAnchor codec("jpeg", ".jpg", cv::IMWRITE_JPEG_QUALITY);
  return codec;
}

const AnchorCodec& WebpAnchor() {
  static const OpenCvAnchor codec("webp", ".webp", cv::IMWRITE_WEBP_QUALITY);
  return codec;
}

}  // namespace mt::client
