#include "core/io/image_header.h"

#include <cctype>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace mt {
namespace {

uint32_t Be16(std::string_view b, size_t i) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[i])) << 8) | static_cast<uint8_t>(b[i + 1]);
}
uint32_t Be32(std::string_view b, size_t i) { return (Be16(b, i) << 16) | Be16(b, i + 2); }
uint32_t Le16(std::string_view b, size_t i) {
  return static_cast<uint8_t>(b[i]) | (static_cast<uint32_t>(static_cast<uint8_t>(b[i + 1])) << 8);
}
uint32_t Le24(std::string_view b, size_t i) { return Le16(b, i) | (static_cast<uint32_t>(static_cast<uint8_t>(b[i + 2])) << 16); }
uint32_t Le32(std::string_view b, size_t i) { return Le16(b, i) | (Le16(b, i + 2) << 16); }

absl::Status Truncated(const char* format) {
  return absl::InvalidArgumentError(absl::StrCat(format, " header is truncated"));
}

absl::StatusOr<ImageHeader> Png(std::string_view b) {
  if (b.size() < 24) return Truncated("PNG");
  if (b.substr(12, 4) != "IHDR") return absl::InvalidArgumentError("PNG: first chunk is not IHDR");
  return ImageHeader{"png", Be32(b, 16), Be32(b, 20)};
}

absl::StatusOr<ImageHeader> Jpeg(std::string_view b) {
  size_t i = 2;
  while (i + 4 <= b.size()) {
    if (static_cast<uint8_t>(b[i]) != 0xFF) return absl::InvalidArgumentError("JPEG: bad marker");
    const uint8_t m = static_cast<uint8_t>(b[i + 1]);
    if (m == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // markers without a length
      i += 2;
      continue;
    }
    if (m == 0xD9 || m == 0xDA) return absl::InvalidArgumentError("JPEG: no frame header before the image data");
    const size_t len = Be16(b, i + 2);
    if (len < 2) return absl::InvalidArgumentError("JPEG: bad segment length");
    const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
    if (sof) {
      if (i + 9 > b.size()) return Truncated("JPEG");
      return ImageHeader{"jpeg", Be16(b, i + 7), Be16(b, i + 5)};
    }
    i += 2 + len;
  }
  return Truncated("JPEG");
}

absl::StatusOr<ImageHeader> Webp(std::string_view b) {
  if (b.size() < 30) return Truncated("WebP");
  const std::string_view chunk = b.substr(12, 4);
  if (chunk == "VP8 ") {
    if (Le24(b, 23) != 0x2A019D) return absl::InvalidArgumentError("WebP: bad VP8 start code");
    return ImageHeader{"webp", Le16(b, 26) & 0x3FFF, Le16(b, 28) & 0x3FFF};
  }
  if (chunk == "VP8L") {
    if (static_cast<uint8_t>(b[20]) != 0x2F) return absl::InvalidArgumentError("WebP: bad VP8L signature");
    const uint32_t bits = Le32(b, 21);
    return ImageHeader{"webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
  }
  if (chunk == "VP8X") return ImageHeader{"webp", Le24(b, 24) + 1, Le24(b, 27) + 1};
  return absl::InvalidArgumentError("WebP: unknown first chunk");
}

absl::StatusOr<ImageHeader> Bmp(std::string_view b) {
  if (b.size() < 26) return Truncated("BMP");
  const uint32_t dib = Le32(b, 14);
  if (dib == 12) return ImageHeader{"bmp", Le16(b, 18), Le16(b, 20)};
  const auto w = static_cast<int32_t>(Le32(b, 18)), h = static_cast<int32_t>(Le32(b, 22));
  return ImageHeader{"bmp", std::abs(static_cast<int64_t>(w)), std::abs(static_cast<int64_t>(h))};  // h < 0: top-down
}

absl::StatusOr<ImageHeader> Tiff(std::string_view b) {
  const bool le = b[0] == 'I';
  auto u16 = [&](size_t i) { return le ? Le16(b, i) : Be16(b, i); };
  auto u32 = [&](size_t i) { return le ? Le32(b, i) : Be32(b, i); };
  if (b.size() < 8) return Truncated("TIFF");
  const size_t ifd = u32(4);
  if (ifd + 2 > b.size()) return Truncated("TIFF");
  const size_t n = u16(ifd);
  int64_t w = -1, h = -1;
  for (size_t k = 0; k < n; ++k) {
    const size_t e = ifd + 2 + 12 * k;
    if (e + 12 > b.size()) return Truncated("TIFF");
    const uint32_t tag = u16(e), type = u16(e + 2);
    if (tag != 256 && tag != 257) continue;
    // A repeated size tag is a decompression-bomb trick: which copy a decoder believes is not
    // ours to guess (libtiff keeps the first, a naive reader the last), so such files are refused.
    if ((tag == 256 ? w : h) >= 0)
      return absl::InvalidArgumentError(absl::StrCat("TIFF: the first IFD repeats tag ", tag,
                                                     tag == 256 ? " (ImageWidth)" : " (ImageLength)"));
    if (type != 3 && type != 4)
      return absl::InvalidArgumentError(absl::StrCat("TIFF: size tag ", tag, " has type ", type, ", not SHORT or LONG"));
    (tag == 256 ? w : h) = type == 3 ? u16(e + 8) : u32(e + 8);
  }
  if (w < 0 || h < 0) return absl::InvalidArgumentError("TIFF: no ImageWidth/ImageLength in the first IFD");
  return ImageHeader{"tiff", w, h};
}

absl::StatusOr<ImageHeader> Pnm(std::string_view b) {
  size_t i = 2;
  int64_t v[2] = {0, 0};
  for (int64_t& x : v) {
    for (;;) {  // whitespace and '#' comments
      if (i >= b.size()) return Truncated("PNM");
      if (b[i] == '#') {
        while (i < b.size() && b[i] != '\n') ++i;
      } else if (std::isspace(static_cast<unsigned char>(b[i]))) {
        ++i;
      } else {
        break;
      }
    }
    if (!std::isdigit(static_cast<unsigned char>(b[i]))) return absl::InvalidArgumentError("PNM: bad size field");
    while (i < b.size() && std::isdigit(static_cast<unsigned char>(b[i]))) {
      x = x * 10 + (b[i++] - '0');
      if (x > (int64_t{1} << 40)) return absl::InvalidArgumentError("PNM: size field too large");
    }
  }
  return ImageHeader{"pnm", v[0], v[1]};
}

}  // namespace

absl::StatusOr<ImageHeader> PeekImageHeader(std::string_view b) {
  if (b.empty()) return absl::InvalidArgumentError("image bytes are empty");
  absl::StatusOr<ImageHeader> h = absl::InvalidArgumentError(
      "not a supported image format (PNG, JPEG, WebP, BMP, TIFF, PNM)");
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) h = Png(b);
  else if (b.size() >= 3 && b.substr(0, 3) == "\xFF\xD8\xFF") h = Jpeg(b);
  else if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") h = Webp(b);
  else if (b.size() >= 2 && b.substr(0, 2) == "BM") h = Bmp(b);
  else if (b.size() >= 4 && (b.substr(0, 4) == std::string_view("II*\0", 4) || b.substr(0, 4) == std::string_view("MM\0*", 4))) h = Tiff(b);
  else if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') h = Pnm(b);
  else if (b.size() >= 6 && (b.substr(0, 6) == "GIF87a" || b.substr(0, 6) == "GIF89a"))
    return absl::InvalidArgumentError("GIF is not supported (OpenCV cannot decode it): send PNG, JPEG or WebP");
  if (!h.ok()) return h;
  if (h->width <= 0 || h->height <= 0)
    return absl::InvalidArgumentError(absl::StrCat(h->format, " header declares a ", h->width, "x", h->height, " image"));
  return h;
}

}  // namespace mt
