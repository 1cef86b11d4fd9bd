// mt-client bench: rate–distortion sweep of the adaptive-patch pipeline (in-process, the same
// PacketEncoder/PacketDecoder and protobuf packet the daemons use) against random and uniform-grid
// masking, JPEG, WebP and PNG on the same images. Writes CSV, a markdown summary and a gnuplot plot.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "client/commands.h"
#include "client/connection.h"
#include "core/io/checkpoint.h"
#include "core/io/image_io.h"
#include "core/metrics/image_metrics.h"
#include "core/pipeline/packet_decoder.h"
#include "core/pipeline/packet_encoder.h"
#include "mt/v1/transmission.grpc.pb.h"
#include "server/common/packet_proto.h"

namespace mt::client {
namespace {

struct Row {
  std::string image, method, payload, precision;
  double setting = 0;  // keep ratio, or codec quality
  int64_t bytes = 0;
  double bpp = 0, psnr = 0, ssim = 0;
};

struct Curve {  // one line of the plot: (method, payload, precision)
  std::string method, payload, precision;
  bool operator<(const Curve& o) const {
    return std::tie(method, payload, precision) < std::tie(o.method, o.payload, o.precision);
  }
  std::string Name() const {
    return payload.empty() ? method : method + " " + payload + (precision.empty() ? "" : " " + precision);
  }
};

struct Mean {
  double bpp = 0, psnr = 0, ssim = 0;
  int n = 0;
};

void Measure(Row* r, const at::Tensor& original, const at::Tensor& received) {
  at::Tensor a = original.unsqueeze(0), b = received.unsqueeze(0);
  r->bpp = 8.0 * static_cast<double>(r->bytes) / static_cast<double>(original.size(1) * original.size(2));
  r->psnr = Psnr(a, b)[0].item<double>();
  r->ssim = original.size(1) >= kSsimWindow && original.size(2) >= kSsimWindow ? Ssim(a, b)[0].item<double>() : NAN;
}

absl::Status WriteReport(const BenchConfig& c, const std::vector<Row>& rows, size_t images) {
  std::map<Curve, std::map<double, Mean>> curves;
  for (const Row& r : rows) {
    Mean& m = curves[{r.method, r.payload, r.precision}][r.setting];
    m.bpp += r.bpp;
    m.psnr += r.psnr;
    m.ssim += r.ssim;
    ++m.n;
  }
  for (auto& [curve, points] : curves)
    for (auto& [s, m] : points) m.bpp /= m.n, m.psnr /= m.n, m.ssim /= m.n;

  if (!c.report.empty()) {
    std::ofstream md(c.report);
    md << "# Rate-distortion: " << c.images_dir << " (" << images << " images"
       << (c.crop > 0 ? ", " + std::to_string(c.crop) + "x" + std::to_string(c.crop) + " native crops" : "")
       << ")\n\nBytes are what travels: the serialized sender->receiver packet for the MAE methods, the whole "
          "file for JPEG/WebP/PNG. PSNR/SSIM of the image the receiver ends with, averaged over images.\n\n";
    const double budgets[] = {0.5, 1, 2, 4, 8, 16};
    md << "## Best mean PSNR (dB) within a bits-per-pixel budget\n\n| method |";
    for (double b : budgets) md << " <= " << b << " bpp |";
    md << "\n|---|";
    for (size_t i = 0; i < std::size(budgets); ++i) md << "---:|";
    md << "\n";
    for (const auto& [curve, points] : curves) {
      md << "| " << curve.Name() << " |";
      for (double b : budgets) {
        double best = -1;
        for (const auto& [s, m] : points)
          if (m.bpp <= b) best = std::max(best, m.psnr);
        if (best < 0) md << " — |";
        else md << " " << std::round(best * 100) / 100 << " |";
      }
      md << "\n";
    }
    md << "\n## Every setting (means)\n\n| method | setting | bpp | PSNR dB | SSIM |\n|---|---:|---:|---:|---:|\n";
    for (const auto& [curve, points] : curves)
      for (const auto& [s, m] : points) {
        char line[256];
        std::snprintf(line, sizeof line, "| %s | %g | %.3f | %.2f | %.4f |\n", curve.Name().c_str(), s, m.bpp, m.psnr,
                      m.ssim);
        md << line;
      }
    if (!md) return absl::InternalError("cannot write " + c.report);
  }
  if (!c.plot.empty()) {
    const std::string dir = c.plot + ".data";
    std::filesystem::create_directories(dir);
    std::ofstream gp(dir + "/plot.gp");
    gp << "set terminal pngcairo size 1100,700 font ',10'\nset output '" << c.plot << "'\n"
       << "set logscale x 2\nset xlabel 'bits per pixel (wire bytes x 8 / pixels)'\nset ylabel 'PSNR (dB)'\n"
       << "set key outside right\nset grid\nset yrange [10:45]\n"
       << "set title 'Rate-distortion, " << c.images_dir << " (PNG, lossless, in the report)'\nplot ";
    int i = 0;
    for (const auto& [curve, points] : curves) {
      if (curve.method == "png") continue;  // infinite PSNR (capped at 100 dB) would flatten every curve
      const std::string file = dir + "/curve" + std::to_string(i) + ".dat";
      std::ofstream d(file);
      for (const auto& [s, m] : points) d << m.bpp << " " << m.psnr << "\n";
      gp << (i ? ", " : "") << "'" << file << "' using 1:2 with linespoints title '" << curve.Name() << "'";
      ++i;
    }
    gp << "\n";
    gp.close();
    const std::string cmd = "gnuplot '" + dir + "/plot.gp'";
    if (std::system(cmd.c_str()) != 0)
      return absl::FailedPreconditionError("gnuplot failed or is missing (apt-get install gnuplot-nox); data in " + dir);
  }
  return absl::OkStatus();
}

}  // namespace

int RunBench(const BenchConfig& c) {
  absl::StatusOr<MaskedAutoencoder> mae = LoadMae(c.mae_checkpoint);
  absl::StatusOr<Masker> masker = LoadMasker(c.masker_checkpoint);
  if (!mae.ok() || !masker.ok()) {
    std::fprintf(stderr, "mt-client bench: %s\n", (!mae.ok() ? mae.status() : masker.status()).ToString().c_str());
    return 1;
  }
  PacketEncoder encoder(*mae, *masker, c.compute);
  PacketDecoder decoder(*mae, int64_t{1} << 40, c.compute);
  std::unique_ptr<v1::Sender::Stub> stub;
  if (c.remote) {
    std::string error;
    std::shared_ptr<grpc::Channel> channel = Connect(c.connection, &error);
    if (!channel) return std::fprintf(stderr, "mt-client bench: %s\n", error.c_str()), 2;
    stub = v1::Sender::NewStub(channel);
  }
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(c.images_dir, ec))
    if (e.is_regular_file()) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "mt-client bench: no files in '%s'\n", c.images_dir.c_str());
    return 2;
  }
  struct Setting {
    KeepSource source;
    const char* method;
    PayloadKind payload;
    Precision precision;
  };
  std::vector<Setting> settings;
  for (auto [source, method] : {std::pair{KeepSource::kMasker, "masker"}, std::pair{KeepSource::kRandom, "random"},
                                std::pair{KeepSource::kUniformGrid, "grid"}}) {
    for (Precision p : {Precision::kFp32, Precision::kFp16, Precision::kInt8})
      settings.push_back({source, method, PayloadKind::kFeatures, p});
    settings.push_back({source, method, PayloadKind::kFeaturesAndPixels, Precision::kInt8});
    settings.push_back({source, method, PayloadKind::kPixels, Precision::kFp32});
  }
  std::vector<Row> rows;
  size_t images = 0;
  for (const std::string& f : files) {
    absl::StatusOr<at::Tensor> photo = LoadImageRgb(f);
    if (!photo.ok()) {
      std::fprintf(stderr, "skipping %s: %s\n", f.c_str(), photo.status().ToString().c_str());
      continue;
    }
    const std::string stem = std::filesystem::path(f).stem().string();
    std::vector<at::Tensor> crops = EvenCrops(*photo, c.crop, c.crops_per_image);
    for (size_t ci = 0; ci < crops.size(); ++ci) {
      const at::Tensor& image = crops[ci];
      const std::string name = crops.size() == 1 ? stem : stem + "#" + std::to_string(ci);
      ++images;
      // Through the daemons: the same image as lossless PNG, masker settings only (the sender has no
      // baseline selection); bytes and quality are the sender's report.
      std::string image_png;
      if (stub) image_png = *EncodePng(image);
      for (const Setting& s : settings)
        for (double ratio : c.keep_ratios) {
          if (stub) {
            if (s.source != KeepSource::kMasker) continue;
            v1::SendRequest req;
            req.set_id("bench");
            req.set_image(image_png);
            req.mutable_selection()->set_keep_ratio(ratio);
            req.set_payload(server::ToProto(s.payload));
            req.set_precision(server::ToProto(s.precision));
            grpc::ClientContext ctx;
            Prepare(&ctx, c.connection);
            v1::SendReply reply;
            grpc::Status st = stub->Send(&ctx, req, &reply);
            if (!st.ok()) return std::fprintf(stderr, "%s: %s\n", name.c_str(), st.error_message().c_str()), 1;
            Row r{name, "masker (daemons)", PayloadKindName(s.payload),
                  CarriesFeatures(s.payload) ? PrecisionName(s.precision) : "", ratio, reply.wire_bytes()};
            r.bpp = 8.0 * static_cast<double>(r.bytes) / static_cast<double>(image.size(1) * image.size(2));
            r.psnr = reply.psnr_db();
            r.ssim = reply.ssim() < -0.5 ? NAN : reply.ssim();
            rows.push_back(r);
            continue;
          }
          EncodeOptions eo;
          eo.selection.mode = SelectionPolicy::Mode::kTopK;
          eo.selection.keep_ratio = ratio;
          eo.payload = s.payload;
          eo.precision = s.precision;
          eo.source = s.source;
          eo.seed = 1234 + ci;
          absl::StatusOr<EncodedImage> e = encoder.Encode(image, "bench", eo);
          if (!e.ok()) return std::fprintf(stderr, "%s\n", e.status().ToString().c_str()), 1;
          absl::StatusOr<DecodedImage> d = decoder.Decode(e->packet);
          if (!d.ok()) return std::fprintf(stderr, "%s\n", d.status().ToString().c_str()), 1;
          Row r{name, s.method, PayloadKindName(s.payload),
                CarriesFeatures(s.payload) ? PrecisionName(s.precision) : "", ratio};
          r.bytes = server::WireBytes(e->packet);
          Measure(&r, image, QuantizeTo8Bit(d->image));  // what the receiver stores
          rows.push_back(r);
        }
      for (const char* format : {"jpeg", "webp"})
        for (int q : {5, 10, 20, 30, 50, 70, 90}) {
          absl::StatusOr<std::string> bytes = EncodeImage(image, format, q);
          absl::StatusOr<at::Tensor> back = bytes.ok() ? DecodeImageRgb(*bytes) : bytes.status();
          if (!back.ok()) return std::fprintf(stderr, "%s\n", back.status().ToString().c_str()), 1;
          Row r{name, format, "", "", static_cast<double>(q), static_cast<int64_t>(bytes->size())};
          Measure(&r, image, *back);
          rows.push_back(r);
        }
      absl::StatusOr<std::string> png = EncodePng(image);
      Row r{name, "png", "", "", 0, static_cast<int64_t>(png->size())};
      Measure(&r, image, image);
      rows.push_back(r);
    }
    std::fprintf(stderr, "[bench] %s: %zu image(s), %zu rows so far\n", stem.c_str(), crops.size(), rows.size());
  }
  if (!c.csv.empty()) {
    std::ofstream csv(c.csv);
    csv << "image,method,payload,precision,setting,bytes,bpp,psnr_db,ssim\n";
    for (const Row& r : rows)
      csv << r.image << "," << r.method << "," << r.payload << "," << r.precision << "," << r.setting << ","
          << r.bytes << "," << r.bpp << "," << r.psnr << "," << r.ssim << "\n";
  }
  if (absl::Status s = WriteReport(c, rows, images); !s.ok()) {
    std::fprintf(stderr, "mt-client bench: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("bench: %zu images, %zu rows%s%s%s\n", images, rows.size(), c.csv.empty() ? "" : ("; " + c.csv).c_str(),
              c.report.empty() ? "" : ("; " + c.report).c_str(), c.plot.empty() ? "" : ("; " + c.plot).c_str());
  return 0;
}

}  // namespace mt::client
