// mt-client bench: rate–distortion sweep of the adaptive-patch pipeline (in-process, the same
// PacketEncoder/PacketDecoder and protobuf packet the daemons use) against random and uniform-grid
// masking, the anchor codecs (JPEG, WebP, AVIF, JPEG XL: client/anchor_codecs.h) and PNG on the
// same images. Writes CSV, a markdown summary and a gnuplot plot.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <opencv2/core.hpp>

#include "absl/strings/str_cat.h"
#include "client/anchor_codecs.h"
#include "client/bench_report.h"
#include "client/commands.h"
#include "client/connection.h"
#include "core/io/checkpoint.h"
#include "core/io/image_io.h"
#include "core/metrics/image_metrics.h"
#include "core/metrics/seam.h"
#include "core/codecs/tile_codec_registry.h"
#include "core/pipeline/packet_decoder.h"
#include "core/pipeline/packet_encoder.h"
#include "mt/v1/transmission.grpc.pb.h"
#include "server/common/packet_proto.h"

namespace mt::client {
namespace {

// bpp, PSNR, SSIM, and the seam ratio of `received` on the model's `tile` grid (NaN for a single tile).
void Measure(BenchRow* r, const at::Tensor& original, const at::Tensor& received, int64_t tile) {
  at::Tensor a = original.unsqueeze(0), b = received.unsqueeze(0);
  r->seam = SeamRatio(received, tile);
  r->bpp = 8.0 * static_cast<double>(r->bytes) / static_cast<double>(original.size(1) * original.size(2));
  r->psnr = Psnr(a, b)[0].item<double>();
  r->ssim = original.size(1) >= kSsimWindow && original.size(2) >= kSsimWindow ? Ssim(a, b)[0].item<double>() : NAN;
}

// (3, H, W) float in [0,1] → 8-bit RGB, rounded exactly as EncodeImage rounds (clamp, ×255, round),
// so the anchors see the bytes EncodeImage would have encoded and the jpeg/webp rows are unchanged.
Rgb8 TensorToRgb8(const at::Tensor& image) {
  at::Tensor hwc = (image.detach().to(at::kFloat).cpu().clamp(0, 1) * 255.0)
                       .round().to(at::kByte).permute({1, 2, 0}).contiguous();
  Rgb8 out{static_cast<int>(hwc.size(1)), static_cast<int>(hwc.size(0)), {}};
  const uint8_t* p = hwc.data_ptr<uint8_t>();
  out.pixels.assign(p, p + hwc.numel());
  return out;
}

// 8-bit RGB → (3, H, W) float in [0,1], scaled as DecodeImageRgb scales (OpenCV convertTo by 1/255).
at::Tensor Rgb8ToTensor(const Rgb8& image) {
  cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.pixels.data()));
  cv::Mat f;
  rgb.convertTo(f, CV_32FC3, 1.0 / 255.0);
  return at::from_blob(f.data, {f.rows, f.cols, 3}, at::kFloat).permute({2, 0, 1}).clone().clamp_(0.0, 1.0);
}

bool Wanted(const BenchConfig& c, const std::string& payload) {
  return c.payloads.empty() || std::find(c.payloads.begin(), c.payloads.end(), payload) != c.payloads.end();
}

// Latent rows of one image: every keep source × keep ratio × step level, plus every patch kept.
absl::Status LatentRows(const BenchConfig& c, const PacketEncoder& encoder, const PacketDecoder& decoder,
                        const at::Tensor& image, const std::string& name, uint64_t seed, std::vector<BenchRow>* rows) {
  const TileCodec& coder = *encoder.tile_codec();
  struct Source {
    KeepSource source;
    const char* method;
  };
  // A codec that codes every position of its own tiles: one row per level, no selections, the
  // codec's name as the method.
  const std::string every_method = coder.selects_positions() ? "all" : std::string(coder.name());
  std::vector<std::pair<Source, double>> selections = {{{KeepSource::kMasker, every_method.c_str()}, 1.0}};
  for (double ratio : coder.selects_positions() ? c.latent_keep_ratios : std::vector<double>{})
    for (Source s : {Source{KeepSource::kMasker, "masker"}, Source{KeepSource::kRandom, "random"},
                     Source{KeepSource::kUniformGrid, "grid"}})
      if (ratio < 1.0 && (c.latent_baselines || s.source == KeepSource::kMasker)) selections.push_back({s, ratio});
  std::vector<int64_t> levels = c.latent_levels;
  if (levels.empty())
    for (int64_t level = 0; level < coder.num_levels(); ++level) levels.push_back(level);
  for (const auto& [source, ratio] : selections)
    for (int64_t level : levels) {
      EncodeOptions eo;
      eo.selection.mode = SelectionPolicy::Mode::kTopK;
      eo.selection.keep_ratio = ratio;
      eo.payload = PayloadKind::kLatent;
      eo.source = source.source;
      eo.seed = seed;
      eo.latent_level = level;
      absl::StatusOr<EncodedImage> e = encoder.Encode(image, "bench", eo);
      if (!e.ok()) return e.status();
      absl::StatusOr<DecodedImage> d = decoder.Decode(e->packet);
      if (!d.ok()) return d.status();
      BenchRow r{name, source.method, "latent", "k" + std::to_string(std::lround(ratio * 100)),
                 static_cast<double>(level)};
      r.bytes = server::WireBytes(e->packet);
      r.estimated_bytes = e->estimated_bits / 8.0 + static_cast<double>(r.bytes - PayloadBytes(e->packet));
      Measure(&r, image, QuantizeTo8Bit(d->image), encoder.mae_options().img_size);
      rows->push_back(r);
    }
  return absl::OkStatus();
}

// A payload setting of the MAE rows: who selects, which payload, which feature precision.
struct Setting {
  KeepSource source;
  const char* method;
  PayloadKind payload;
  Precision precision;
};

// Every source × payload × precision, in the CSV's order, of the payloads c.payloads asks for.
std::vector<Setting> WantedSettings(const BenchConfig& c) {
  std::vector<Setting> all_settings, settings;
  for (auto [source, method] : {std::pair{KeepSource::kMasker, "masker"}, std::pair{KeepSource::kRandom, "random"},
                                std::pair{KeepSource::kUniformGrid, "grid"}}) {
    for (Precision p : {Precision::kFp32, Precision::kFp16, Precision::kInt8})
      all_settings.push_back({source, method, PayloadKind::kFeatures, p});
    all_settings.push_back({source, method, PayloadKind::kFeaturesAndPixels, Precision::kInt8});
    all_settings.push_back({source, method, PayloadKind::kPixels, Precision::kFp32});
  }
  for (const Setting& s : all_settings)
    if (Wanted(c, PayloadKindName(s.payload))) settings.push_back(s);
  return settings;
}

// What one bench run holds: the in-process pipeline, the sender's stub with --nolocal.
struct BenchModels {
  std::unique_ptr<PacketEncoder> encoder;
  std::unique_ptr<PacketDecoder> decoder;
  std::shared_ptr<const TileCodec> latent;
  std::unique_ptr<v1::Sender::Stub> stub;
};

// The models of c (and the stub with c.remote); an error line for stderr and the exit code otherwise.
absl::StatusOr<BenchModels> LoadBenchModels(const BenchConfig& c, int* exit_code) {
  *exit_code = 1;
  absl::StatusOr<MaskedAutoencoder> mae = LoadMae(c.mae_checkpoint);
  absl::StatusOr<Masker> masker = LoadMasker(c.masker_checkpoint);
  if (!mae.ok() || !masker.ok())
    return absl::UnknownError(absl::StrCat("mt-client bench: ", (!mae.ok() ? mae.status() : masker.status()).ToString()));
  BenchModels m;
  if (!c.codec_checkpoint.empty()) {
    absl::StatusOr<std::shared_ptr<const TileCodec>> coder = LoadTileCodec(c.codec_checkpoint, c.compute);
    if (!coder.ok())
      return absl::UnknownError(absl::StrCat("mt-client bench: --codec_checkpoint: ", coder.status().ToString()));
    m.latent = *coder;
  }
  m.encoder = std::make_unique<PacketEncoder>(*mae, *masker, c.compute, m.latent);
  m.decoder = std::make_unique<PacketDecoder>(*mae, int64_t{1} << 40, c.compute, m.latent);
  if (c.remote) {
    std::string error;
    std::shared_ptr<grpc::Channel> channel = Connect(c.connection, &error);
    *exit_code = 2;
    if (!channel) return absl::UnknownError(absl::StrCat("mt-client bench: ", error));
    m.stub = v1::Sender::NewStub(channel);
  }
  return m;
}

// One masker row through the daemons: the image as lossless PNG; bytes and quality are the
// sender's report.
absl::Status DaemonRow(const BenchConfig& c, v1::Sender::Stub& stub, const std::string& image_png,
                       const at::Tensor& image, const std::string& name, const Setting& s, double ratio,
                       std::vector<BenchRow>* rows) {
  v1::SendRequest req;
  req.set_id("bench");
  req.set_image(image_png);
  req.mutable_selection()->set_keep_ratio(ratio);
  req.set_payload(server::ToProto(s.payload));
  req.set_precision(server::ToProto(s.precision));
  req.set_measure_quality(true);  // the bench's rows are rate against quality
  grpc::ClientContext ctx;
  Prepare(&ctx, c.connection);
  v1::SendReply reply;
  grpc::Status st = stub.Send(&ctx, req, &reply);
  if (!st.ok()) return absl::UnknownError(absl::StrCat(name, ": ", st.error_message()));
  BenchRow r{name, "masker (daemons)", PayloadKindName(s.payload),
             CarriesFeatures(s.payload) ? PrecisionName(s.precision) : "", ratio, reply.wire_bytes()};
  r.bpp = 8.0 * static_cast<double>(r.bytes) / static_cast<double>(image.size(1) * image.size(2));
  r.psnr = reply.psnr_db();
  r.ssim = reply.ssim() < -0.5 ? NAN : reply.ssim();
  rows->push_back(r);
  return absl::OkStatus();
}

// One row in-process: the same packet the daemons exchange, measured on what the receiver stores.
absl::Status InProcessRow(const BenchModels& m, const at::Tensor& image, const std::string& name, const Setting& s,
                          double ratio, uint64_t seed, std::vector<BenchRow>* rows) {
  EncodeOptions eo;
  eo.selection.mode = SelectionPolicy::Mode::kTopK;
  eo.selection.keep_ratio = ratio;
  eo.payload = s.payload;
  eo.precision = s.precision;
  eo.source = s.source;
  eo.seed = seed;
  absl::StatusOr<EncodedImage> e = m.encoder->Encode(image, "bench", eo);
  if (!e.ok()) return absl::UnknownError(e.status().ToString());
  absl::StatusOr<DecodedImage> d = m.decoder->Decode(e->packet);
  if (!d.ok()) return absl::UnknownError(d.status().ToString());
  BenchRow r{name, s.method, PayloadKindName(s.payload), CarriesFeatures(s.payload) ? PrecisionName(s.precision) : "",
             ratio};
  r.bytes = server::WireBytes(e->packet);
  Measure(&r, image, QuantizeTo8Bit(d->image), m.encoder->mae_options().img_size);  // what the receiver stores
  rows->push_back(r);
  return absl::OkStatus();
}

// The anchors, each at every setting of its sweep (always in-process, also with --nolocal), and PNG.
absl::Status AnchorRows(const at::Tensor& image, const std::string& name, int64_t tile, std::vector<BenchRow>* rows) {
  const Rgb8 rgb8 = TensorToRgb8(image);
  for (const AnchorCodec* codec : AnchorCodecs())
    for (int q : codec->settings()) {
      absl::StatusOr<std::string> bytes = codec->Encode(rgb8, q);
      absl::StatusOr<Rgb8> back = bytes.ok() ? codec->Decode(*bytes) : bytes.status();
      if (!back.ok()) return absl::UnknownError(absl::StrCat(name, ": ", back.status().ToString()));
      BenchRow r{name, std::string(codec->name()), "", "", static_cast<double>(q), static_cast<int64_t>(bytes->size())};
      Measure(&r, image, Rgb8ToTensor(*back), tile);
      rows->push_back(r);
    }
  absl::StatusOr<std::string> png = EncodePng(image);
  BenchRow r{name, "png", "", "", 0, static_cast<int64_t>(png->size())};
  Measure(&r, image, image, tile);
  rows->push_back(r);
  return absl::OkStatus();
}

// Every row of one image (crop `ci` of its photo): MAE settings × keep ratios (through the
// daemons with --nolocal: masker settings only, as the sender has no baseline selection),
// latent rows, anchors.
absl::Status ImageRows(const BenchConfig& c, const BenchModels& m, const std::vector<Setting>& settings,
                       const at::Tensor& image, const std::string& name, size_t ci, std::vector<BenchRow>* rows) {
  std::string image_png;
  if (m.stub) image_png = *EncodePng(image);
  for (const Setting& s : settings)
    for (double ratio : c.keep_ratios) {
      if (m.stub && s.source != KeepSource::kMasker) continue;
      absl::Status st = m.stub ? DaemonRow(c, *m.stub, image_png, image, name, s, ratio, rows)
                               : InProcessRow(m, image, name, s, ratio, 1234 + ci, rows);
      if (!st.ok()) return st;
    }
  if (m.latent != nullptr && !m.stub && Wanted(c, "latent"))
    if (absl::Status st = LatentRows(c, *m.encoder, *m.decoder, image, name, 1234 + ci, rows); !st.ok())
      return absl::UnknownError(absl::StrCat(name, ": ", st.ToString()));
  return AnchorRows(image, name, m.encoder->mae_options().img_size, rows);
}

// The files under c.images_dir, recursively (the corpus keeps its held-out photos in one folder
// per package), sorted.
std::vector<std::string> BenchFiles(const BenchConfig& c) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(c.images_dir, ec))
    if (e.is_regular_file()) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int RunBench(const BenchConfig& c) {
  int exit_code = 1;
  absl::StatusOr<BenchModels> models = LoadBenchModels(c, &exit_code);
  if (!models.ok()) return std::fprintf(stderr, "%s\n", std::string(models.status().message()).c_str()), exit_code;
  const std::vector<std::string> files = BenchFiles(c);
  if (files.empty()) {
    std::fprintf(stderr, "mt-client bench: no files in '%s'\n", c.images_dir.c_str());
    return 2;
  }
  const std::vector<Setting> settings = WantedSettings(c);
  for (const MissingAnchor& m : MissingAnchorCodecs())
    std::fprintf(stderr, "mt-client bench: no %s rows: %s\n", m.name.c_str(), m.reason.c_str());
  std::vector<BenchRow> rows;
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
      const std::string name = crops.size() == 1 ? stem : stem + "#" + std::to_string(ci);
      ++images;
      if (absl::Status st = ImageRows(c, *models, settings, crops[ci], name, ci, &rows); !st.ok())
        return std::fprintf(stderr, "%s\n", std::string(st.message()).c_str()), 1;
    }
    std::fprintf(stderr, "[bench] %s: %zu image(s), %zu rows so far\n", stem.c_str(), crops.size(), rows.size());
  }
  if (absl::Status s = WriteBenchOutputs(c, rows, images); !s.ok()) {
    std::fprintf(stderr, "mt-client bench: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("bench: %zu images, %zu rows%s%s%s\n", images, rows.size(), c.csv.empty() ? "" : ("; " + c.csv).c_str(),
              c.report.empty() ? "" : ("; " + c.report).c_str(), c.plot.empty() ? "" : ("; " + c.plot).c_str());
  return 0;
}

}  // namespace mt::client
