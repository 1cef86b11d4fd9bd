#include "core/io/png_writer.h"

#include <ATen/Parallel.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mt {
namespace {

// Rows per strip: large enough that a strip's sync-flush overhead (~5 bytes) and the RLE
// restart are negligible, small enough that 2+ threads share even a 1 MP image.
constexpr int64_t kStripBytes = int64_t{1} << 21;
// A row is deflated in one zlib call (avail_in is 32 bits): widths up to 2^28 pixels.
constexpr int64_t kMaxWidth = int64_t{1} << 28;
constexpr int64_t kMaxHeight = (int64_t{1} << 31) - 1;  // PNG's limit
constexpr size_t kMaxChunkBytes = size_t{1} << 30;       // IDAT chunks stay far below PNG's 2^31 - 1

void PutBigEndian32(uint32_t v, std::string* out) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out->append(b, 4);
}

// Appends a chunk: length, type, data, CRC-32 of type and data.
void PutChunk(const char type[4], std::string_view data, std::string* out) {
  PutBigEndian32(static_cast<uint32_t>(data.size()), out);
  out->append(type, 4);
  out->append(data);
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(type), 4);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  PutBigEndian32(static_cast<uint32_t>(crc), out);
}

// One strip of rows, filtered (filter byte 1 = Sub) and deflated as raw deflate data.
struct Strip {
  std::string deflated;
  uLong adler = 1;
  uLong filtered_bytes = 0;
  bool ok = true;
};

void FilterAndDeflate(const uint8_t* rgb, int64_t first_row, int64_t rows, int64_t width, bool last, Strip* strip) {
  const int64_t row_bytes = 3 * width;
  std::vector<uint8_t> filtered(static_cast<size_t>(rows * (row_bytes + 1)));
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* src = rgb + (first_row + r) * row_bytes;
    uint8_t* dst = filtered.data() + r * (row_bytes + 1);
    dst[0] = 1;  // Sub: each byte minus the same channel of the pixel to its left
    std::memcpy(dst + 1, src, 3);
    for (int64_t i = 3; i < row_bytes; ++i) dst[1 + i] = static_cast<uint8_t>(src[i] - src[i - 3]);
  }
  strip->filtered_bytes = static_cast<uLong>(filtered.size());
  strip->adler = adler32(1L, filtered.data(), static_cast<uInt>(filtered.size()));
  z_stream z{};
  if (deflateInit2(&z, 1, Z_DEFLATED, -15, 8, Z_RLE) != Z_OK) {
    strip->ok = false;
    return;
  }
  strip->deflated.resize(deflateBound(&z, static_cast<uLong>(filtered.size())) + 16);
  z.next_in = filtered.data();
  z.avail_in = static_cast<uInt>(filtered.size());
  z.next_out = reinterpret_cast<Bytef*>(strip->deflated.data());
  z.avail_out = static_cast<uInt>(strip->deflated.size());
  const int rc = deflate(&z, last ? Z_FINISH : Z_SYNC_FLUSH);
  strip->ok = last ? rc == Z_STREAM_END : (rc == Z_OK && z.avail_in == 0);
  strip->deflated.resize(z.total_out);
  deflateEnd(&z);
}

// Runs fn(0..n-1) on this thread and at::get_num_threads() - 1 helpers, items taken in turn.
// Why not at::parallel_for: its OpenMP path is compiled into the caller, and this project is built
// without -fopenmp (a CUDA LibTorch bundles its own OpenMP runtime), so it would run serially.
void ForEachInThreads(int64_t n, const std::function<void(int64_t)>& fn) {
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i = next++; i < n; i = next++) fn(i);
  };
  const int64_t helpers = std::min<int64_t>(n, at::get_num_threads()) - 1;
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < helpers; ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
}

}  // namespace

absl::StatusOr<std::string> EncodePngRgb8(const uint8_t* rgb, int64_t height, int64_t width) {
  if (height <= 0 || width <= 0 || height > kMaxHeight || width > kMaxWidth)
    return absl::InvalidArgumentError(
        absl::StrCat("PNG writer takes 1..2^31-1 rows of 1..2^28 pixels, got ", height, "x", width));
  const int64_t row_bytes = 3 * width;
  const int64_t rows_per_strip = std::max<int64_t>(1, kStripBytes / (row_bytes + 1));
  const int64_t strips = (height + rows_per_strip - 1) / rows_per_strip;
  std::vector<Strip> parts(static_cast<size_t>(strips));
  // Strips are fixed by the image size alone, so the bytes do not depend on the thread count.
  ForEachInThreads(strips, [&](int64_t s) {
    const int64_t first = s * rows_per_strip, rows = std::min(rows_per_strip, height - first);
    FilterAndDeflate(rgb, first, rows, width, s == strips - 1, &parts[static_cast<size_t>(s)]);
  });
  std::string idat = "\x78\x01";  // zlib header: deflate, 32 KiB window, fastest level
  uLong adler = 1;
  for (const Strip& p : parts) {
    if (!p.ok) return absl::InternalError("PNG: zlib deflate failed");
    idat += p.deflated;
    adler = adler32_combine(adler, p.adler, static_cast<z_off_t>(p.filtered_bytes));
  }
  PutBigEndian32(static_cast<uint32_t>(adler), &idat);

  std::string ihdr;
  PutBigEndian32(static_cast<uint32_t>(width), &ihdr);
  PutBigEndian32(static_cast<uint32_t>(height), &ihdr);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, truecolour, deflate, adaptive filters, no interlace
  std::string png("\x89PNG\r\n\x1a\n", 8);
  PutChunk("IHDR", ihdr, &png);
  for (size_t at = 0; at < idat.size(); at += kMaxChunkBytes)
    PutChunk("IDAT", std::string_view(idat).substr(at, kMaxChunkBytes), &png);  // views: no copy of the data
  PutChunk("IEND", "", &png);
  return png;
}

}  // namespace mt
