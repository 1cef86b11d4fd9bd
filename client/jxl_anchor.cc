// JPEG XL anchor through libjxl (Debian 12: 0.7.0): lossy VarDCT (XYB, not the original profile)
// from 8-bit sRGB, effort 7 (libjxl's default, "squirrel"), one thread (no parallel runner), a bare
// codestream (no container). A setting is the Butteraugli distance in tenths (10 = distance 1.0,
// visually lossless; larger is smaller and worse). Decoding asks libjxl for 8-bit RGB.
#include <jxl/decode.h>
#include <jxl/decode_cxx.h>
#include <jxl/encode.h>
#include <jxl/encode_cxx.h>

#include "absl/strings/str_cat.h"
#include "client/anchor_codecs.h"

namespace mt::client {
namespace {

constexpr int kEffort = 7;
constexpr uint64_t kMaxPixels = uint64_t{1} << 28;  // refuse to allocate for absurd headers

class JxlCodec final : public AnchorCodec {
 public:
  std::string_view name() const override { return "jxl"; }
  std::string_view setting_meaning() const override { return "Butteraugli distance x 10 (lower is better)"; }
  const std::vector<int>& settings() const override {
    // Lowest rate first. On 0.25-0.31 MP crops of the held-out photos (fruits, building, baboon)
    // distance 25 gives 0.08-0.17 bpp and distance 0.5 2.1-4.4 bpp.
    static const std::vector<int> kDistances = {250, 200, 150, 120, 90, 70, 50, 40, 30, 20, 15, 10, 7, 5};
    return kDistances;
  }

  absl::StatusOr<std::string> Encode(const Rgb8& image, int setting) const override {
    if (absl::Status s = CheckRgb8(image, "jxl"); !s.ok()) return s;
    const float distance = static_cast<float>(setting) / 10.0f;
    if (setting < 1 || setting > 250)  // libjxl accepts distances up to 25 for lossy
      return absl::InvalidArgumentError(absl::StrCat("jxl: distance x 10 must be 1-250, got ", setting));
    JxlEncoderPtr enc = JxlEncoderMake(nullptr);
    if (!enc) return absl::InternalError("jxl: JxlEncoderCreate failed");
    auto fail = [&](const char* what) {
      return absl::InternalError(absl::StrCat("jxl: ", what, " failed (encoder error ",
                                              static_cast<int>(JxlEncoderGetError(enc.get())), ")"));
    };
    JxlBasicInfo info;
    JxlEncoderInitBasicInfo(&info);
    info.xsize = static_cast<uint32_t>(image.width);
    info.ysize = static_cast<uint32_t>(image.height);
    info.bits_per_sample = 8;
    info.num_color_channels = 3;
    info.uses_original_profile = JXL_FALSE;  // lossy: code in XYB
    if (JxlEncoderSetBasicInfo(enc.get(), &info) != JXL_ENC_SUCCESS) return fail("JxlEncoderSetBasicInfo");
    JxlColorEncoding color;
    JxlColorEncodingSetToSRGB(&color, /*is_gray=*/JXL_FALSE);
    if (JxlEncoderSetColorEncoding(enc.get(), &color) != JXL_ENC_SUCCESS) return fail("JxlEncoderSetColorEncoding");
    JxlEncoderFrameSettings* frame = JxlEncoderFrameSettingsCreate(enc.get(), nullptr);
    if (frame == nullptr) return fail("JxlEncoderFrameSettingsCreate");
    if (JxlEncoderFrameSettingsSetOption(frame, JXL_ENC_FRAME_SETTING_EFFORT, kEffort) != JXL_ENC_SUCCESS)
      return fail("setting the effort");
    if (JxlEncoderSetFrameLossless(frame, JXL_FALSE) != JXL_ENC_SUCCESS) return fail("JxlEncoderSetFrameLossless");
    if (JxlEncoderSetFrameDistance(frame, distance) != JXL_ENC_SUCCESS) return fail("JxlEncoderSetFrameDistance");
    const JxlPixelFormat format{3, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
    if (JxlEncoderAddImageFrame(frame, &format, image.pixels.data(), image.pixels.size()) != JXL_ENC_SUCCESS)
      return fail("JxlEncoderAddImageFrame");
    JxlEncoderCloseInput(enc.get());
    std::string out(image.pixels.size() / 8 + 4096, '\0');
    size_t used = 0;
    for (;;) {
      uint8_t* next = reinterpret_cast<uint8_t*>(out.data()) + used;
      size_t avail = out.size() - used;
      const JxlEncoderStatus st = JxlEncoderProcessOutput(enc.get(), &next, &avail);
      used = static_cast<size_t>(next - reinterpret_cast<uint8_t*>(out.data()));
      if (st == JXL_ENC_SUCCESS) break;
      if (st != JXL_ENC_NEED_MORE_OUTPUT) return fail("JxlEncoderProcessOutput");
      out.resize(out.size() * 2);
    }
    out.resize(used);
    return out;
  }

  absl::StatusOr<Rgb8> Decode(std::string_view bytes) const override {
    if (bytes.empty()) return absl::InvalidArgumentError("jxl: no bytes to decode");
    JxlDecoderPtr dec = JxlDecoderMake(nullptr);
    if (!dec) return absl::InternalError("jxl: JxlDecoderCreate failed");
    if (JxlDecoderSubscribeEvents(dec.get(), JXL_DEC_BASIC_INFO | JXL_DEC_FULL_IMAGE) != JXL_DEC_SUCCESS)
      return absl::InternalError("jxl: JxlDecoderSubscribeEvents failed");
    if (JxlDecoderSetInput(dec.get(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) != JXL_DEC_SUCCESS)
      return absl::InternalError("jxl: JxlDecoderSetInput failed");
    JxlDecoderCloseInput(dec.get());
    const JxlPixelFormat format{3, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
    Rgb8 out;
    for (;;) {
      switch (JxlDecoderProcessInput(dec.get())) {
        case JXL_DEC_BASIC_INFO: {
          JxlBasicInfo info;
          if (JxlDecoderGetBasicInfo(dec.get(), &info) != JXL_DEC_SUCCESS)
            return absl::InvalidArgumentError("jxl: cannot read the basic info");
          if (info.xsize == 0 || info.ysize == 0 || uint64_t{info.xsize} * info.ysize > kMaxPixels)
            return absl::InvalidArgumentError(absl::StrCat("jxl: unsupported size ", info.xsize, "x", info.ysize));
          out.width = static_cast<int>(info.xsize);
          out.height = static_cast<int>(info.ysize);
          break;
        }
        case JXL_DEC_NEED_IMAGE_OUT_BUFFER: {
          size_t size = 0;
          if (JxlDecoderImageOutBufferSize(dec.get(), &format, &size) != JXL_DEC_SUCCESS ||
              size != 3 * static_cast<size_t>(out.width) * out.height)
            return absl::InvalidArgumentError("jxl: unexpected output buffer size");
          out.pixels.resize(size);
          if (JxlDecoderSetImageOutBuffer(dec.get(), &format, out.pixels.data(), size) != JXL_DEC_SUCCESS)
            return absl::InternalError("jxl: JxlDecoderSetImageOutBuffer failed");
          break;
        }
        case JXL_DEC_FULL_IMAGE:  // the first frame is the image
          if (out.pixels.empty()) return absl::InvalidArgumentError("jxl: image ended before its pixels");
          return out;
        case JXL_DEC_NEED_MORE_INPUT:
          return absl::InvalidArgumentError(absl::StrCat("jxl: truncated codestream (", bytes.size(), " bytes)"));
        case JXL_DEC_SUCCESS:
          return absl::InvalidArgumentError("jxl: codestream holds no image");
        case JXL_DEC_ERROR:
          return absl::InvalidArgumentError(absl::StrCat("jxl: cannot decode ", bytes.size(), " bytes"));
        default:
          return absl::InvalidArgumentError("jxl: unexpected decoder event");
      }
    }
  }
};

}  // namespace

const AnchorCodec& JxlAnchor() {
  static const JxlCodec codec;
  return codec;
}

}  // namespace mt::client
