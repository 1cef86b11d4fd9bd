// Writes the seed corpora under tests/fuzz/corpus/: valid Packets of every payload kind and
// precision (one and several tiles), and SendRequests carrying small images in every accepted
// format. Usage: mt_fuzz_make_seeds OUT_DIR (writes OUT_DIR/packet_decoder, OUT_DIR/send_request, OUT_DIR/image_request).
#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/io/image_io.h"
#include "core/pipeline/packet_encoder.h"
#include "mt/v1/transmission.pb.h"
#include "server/common/packet_proto.h"
#include "tests/test_util.h"

namespace {

void Write(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mt_fuzz_make_seeds OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out / "packet_decoder");
  std::filesystem::create_directories(out / "send_request");
  std::filesystem::create_directories(out / "image_request");
  at::manual_seed(0);
  mt::PacketEncoder encoder(mt::MaskedAutoencoder(mt::test::TinyMaeOptions()), mt::Masker(mt::test::TinyMaskerOptions()));
  int n = 0;
  for (mt::PayloadKind payload : {mt::PayloadKind::kFeatures, mt::PayloadKind::kFeaturesAndPixels, mt::PayloadKind::kPixels})
    for (mt::Precision precision : {mt::Precision::kFp32, mt::Precision::kFp16, mt::Precision::kInt8})
      for (auto [h, w] : {std::pair{8, 8}, std::pair{13, 19}}) {
        mt::EncodeOptions o;
        o.selection.mode = mt::SelectionPolicy::Mode::kTopK;
        o.selection.keep_ratio = 0.25;
        o.payload = payload;
        o.precision = precision;
        absl::StatusOr<mt::EncodedImage> e = encoder.Encode(at::rand({3, h, w}), "seed" + std::to_string(n), o);
        if (!e.ok()) return 1;
        Write(out / "packet_decoder" / ("packet" + std::to_string(n++) + ".bin"),
              mt::server::ToProto(e->packet).SerializeAsString());
      }
  n = 0;
  for (const char* format : {"png", "jpeg", "webp"})
    for (auto [h, w] : {std::pair{1, 1}, std::pair{8, 8}, std::pair{17, 30}}) {
      absl::StatusOr<std::string> image = mt::EncodeImage(at::rand({3, h, w}), format, 80);
      if (!image.ok()) return 1;
      mt::v1::SendRequest r;
      r.set_id("seed" + std::to_string(n));
      r.set_image(*image);
      if (n % 3 == 0) r.mutable_selection()->set_keep_ratio(0.25);
      if (n % 3 == 1) r.mutable_selection()->set_threshold(0.5);
      if (n % 3 == 2) r.mutable_selection()->set_max_bytes(1000);
      r.set_payload(static_cast<mt::v1::PayloadKind>(n % 4));
      r.set_precision(static_cast<mt::v1::Precision>(n % 4));
      Write(out / "send_request" / ("request" + std::to_string(n) + ".bin"), r.SerializeAsString());
      Write(out / "image_request" / ("image" + std::to_string(n++) + "." + format), *image);
    }
  // Formats EncodeImage does not write, straight from OpenCV.
  for (const char* ext : {".bmp", ".tiff", ".ppm", ".pgm"}) {
    cv::Mat m(7, 12, std::string(ext) == ".pgm" ? CV_8UC1 : CV_8UC3);
    cv::randu(m, 0, 255);
    std::vector<uchar> buf;
    if (!cv::imencode(ext, m, buf)) return 1;
    Write(out / "image_request" / (std::string("image") + ext), std::string(buf.begin(), buf.end()));
  }
  std::printf("wrote seeds to %s\n", out.c_str());
  return 0;
}
