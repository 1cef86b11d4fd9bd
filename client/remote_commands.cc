// send / health / info against the daemons.
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "client/commands.h"
#include "client/connection.h"
#include "core/codec/bitmap.h"
#include "core/codec/tiling.h"
#include "core/io/atomic_file.h"
#include "core/io/image_io.h"
#include "core/io/visualization.h"
#include "core/model/patchify.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "mt/v1/transmission.grpc.pb.h"
#include "server/common/packet_proto.h"
#include "server/common/security.h"

namespace mt::client {
namespace {

void PrintRpcError(const char* what, const grpc::Status& s) {
  std::fprintf(stderr, "%s: %s: %s\n", what, StatusCodeName(s.error_code()).c_str(), s.error_message().c_str());
}

// A file name stem as an id the receiver accepts ([A-Za-z0-9._-], no leading '.').
std::string IdFor(const std::string& path) {
  std::string id = std::filesystem::path(path).stem().string();
  for (char& ch : id)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-') ch = '_';
  if (id.empty() || id[0] == '.') id = "img" + id;
  return id.substr(0, 128);
}

// Kept patches of every tile as a (3, H, W) picture: white = kept.
at::Tensor KeepPicture(const v1::SendReply& r) {
  absl::StatusOr<TileGrid> grid = PlanTiles(r.height(), r.width(), r.tile_size());
  const int64_t g = r.tile_size() / r.patch_size(), l = g * g;
  std::vector<at::Tensor> keeps;
  for (const std::string& bits : r.keep_bitmaps()) {
    absl::StatusOr<at::Tensor> k = UnpackBitmap(bits, l);
    keeps.push_back(k.ok() ? k->to(at::kFloat) : at::zeros({l}));
  }
  at::Tensor tiles = UpsamplePatchMask(at::stack(keeps), r.patch_size(), g, g).expand({-1, 3, -1, -1});
  return StitchTiles(tiles.contiguous(), *grid);
}

// A scale's top: the q-quantile of `values`, rounded up to 2 significant digits, at least `floor`.
double ScaleTop(const at::Tensor& values, double q, double floor) {
  at::Tensor flat = values.reshape({-1}).to(at::kFloat);
  const int64_t step = std::max<int64_t>(1, flat.numel() >> 20);  // quantile() refuses > 2^24 values
  const double v = at::quantile(flat.slice(0, 0, flat.numel(), step), q).item<double>();
  if (!(v > floor)) return floor;
  const double unit = std::pow(10.0, std::floor(std::log10(v)) - 1);
  return std::ceil(v / unit) * unit;
}

// The latent payload's grid row: original | bits spent per latent position (heat map, scale in
// bits) | reconstruction | |error| (heat map, scale in 8-bit levels), each captioned.
at::Tensor LatentGridRow(const v1::SendReply& r, const at::Tensor& original, const at::Tensor& recon) {
  const int64_t g = r.tile_size() / r.patch_size();
  const at::Tensor bits =
      at::from_blob(const_cast<float*>(r.position_bits().data()), {r.tiles(), g * g}, at::kFloat).clone();
  absl::StatusOr<TileGrid> grid = PlanTiles(r.height(), r.width(), r.tile_size());
  const at::Tensor bit_map = StitchTiles(UpsamplePatchMask(bits, r.patch_size(), g, g).contiguous(), *grid)[0];
  const at::Tensor kept_bits = bits.masked_select(bits > 0);
  const double bits_top = kept_bits.numel() > 0 ? ScaleTop(kept_bits, 0.99, 1.0) : 1.0;
  const at::Tensor error = (recon - original).abs().mean(0).mul(255);
  const double error_top = ScaleTop(error, 0.99, 1.0);
  char bits_caption[160], recon_caption[96], error_caption[96];
  std::snprintf(bits_caption, sizeof bits_caption, "bits per %dx%d px: 0 .. %.3g", r.patch_size(), r.patch_size(),
                bits_top);
  std::snprintf(recon_caption, sizeof recon_caption, "received: %lld B", static_cast<long long>(r.wire_bytes()));
  if (r.psnr_db() > 0)  // measured (--quality)
    std::snprintf(recon_caption, sizeof recon_caption, "received: %lld B, %.2f dB", static_cast<long long>(r.wire_bytes()),
                  r.psnr_db());
  std::snprintf(error_caption, sizeof error_caption, "|error|: 0 .. %.3g of 255", error_top);
  return PanelRow({Captioned(original, "original " + std::to_string(r.width()) + "x" + std::to_string(r.height())),
                   Captioned(HeatMap(bit_map, bits_top), bits_caption, bits_top),
                   Captioned(recon, recon_caption), Captioned(HeatMap(error, error_top), error_caption, error_top)},
                  /*scale=*/1);
}

// One table row of `send`; latent adds the stream bytes, the estimate and the level.
void PrintRow(const std::string& id, const v1::SendReply& r, bool latent) {
  const v1::StageTimings& t = r.timings();
  char latent_cols[64] = "";
  if (latent)
    std::snprintf(latent_cols, sizeof latent_cols, " %9lld %8lld %3d", static_cast<long long>(r.payload_bytes()),
                  static_cast<long long>(r.estimated_payload_bytes()), r.latent_level());
  std::printf("%-18s %4dx%-4d %5d %6d/%-6d %3.0f%% %9lld%s %9lld %9lld %7.3f %7.2f %7.4f  %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f\n",
              id.substr(0, 18).c_str(), r.width(), r.height(), r.tiles(), r.patches_kept(),
              r.patches_total(), 100 * r.keep_ratio(), static_cast<long long>(r.wire_bytes()), latent_cols,
              static_cast<long long>(r.raw_bytes()), static_cast<long long>(r.image_bytes()),
              8.0 * static_cast<double>(r.wire_bytes()) / (r.width() * r.height()), r.psnr_db(), r.ssim(),
              t.decode_image_ms(), t.queue_ms(), t.masker_ms(), t.encoder_ms(), t.transmit_ms(), t.decoder_ms(),
              t.write_ms(), t.quality_ms(), t.total_ms());
}

// The table's header; latent adds the stream bytes, the estimate and the level.
void PrintSendHeader(bool latent) {
  char latent_head[64] = "";
  if (latent) std::snprintf(latent_head, sizeof latent_head, " %9s %8s %3s", "latent B", "est B", "lvl");
  std::printf("%-18s %9s %5s %18s %9s%s %9s %9s %7s %7s %7s  %s\n", "image", "size", "tiles", "kept", "wire B",
              latent_head, "raw B", "file B", "bpp", "PSNR", "SSIM",
              "ms: decode queue masker enc xmit dec write quality total");
}

// The request for image file `path` (its bytes) with the selection, payload and outputs of `config`.
v1::SendRequest SendRequestFor(const SendConfig& config, const std::string& path, std::string bytes) {
  v1::SendRequest req;
  req.set_id(IdFor(path));
  req.set_image(std::move(bytes));
  if (config.max_bytes > 0) req.mutable_selection()->set_max_bytes(config.max_bytes);
  else if (config.threshold >= 0) req.mutable_selection()->set_threshold(config.threshold);
  else if (config.keep_ratio > 0) req.mutable_selection()->set_keep_ratio(config.keep_ratio);
  req.set_payload(server::ToProto(config.payload));
  if (!CarriesLatents(config.payload)) req.set_precision(server::ToProto(config.precision));
  if (CarriesLatents(config.payload) && config.latent_level >= 0) req.set_latent_level(config.latent_level);
  if (config.target_psnr > 0) req.set_target_psnr(config.target_psnr);
  req.set_return_reconstruction(!config.out_dir.empty());
  req.set_measure_quality(config.quality);
  return req;
}

// The visualisation grid of `send --out_dir`, one row per image.
struct SendGrid {
  std::vector<at::Tensor> rows;  // original | kept patches | overlay | reconstruction
  bool latent = false;           // rows of the latent payload: original | bits | reconstruction | |error|
};

// Writes <out_dir>/<id>_recon.png and adds the image's row to `grid` (none when the reply lacks
// what the row shows).
void SaveReconstruction(const std::string& out_dir, const v1::SendRequest& req, const v1::SendReply& r,
                        SendGrid* grid) {
  const std::string recon_path = out_dir + "/" + req.id() + "_recon.png";
  std::ofstream(recon_path, std::ios::binary) << r.reconstruction_png();
  absl::StatusOr<at::Tensor> original = DecodeImageRgb(req.image());
  absl::StatusOr<at::Tensor> recon = DecodeImageRgb(r.reconstruction_png());
  const int64_t positions = r.patch_size() > 0 ? int64_t{r.tiles()} * (r.tile_size() / r.patch_size()) *
                                                     (r.tile_size() / r.patch_size())
                                               : -1;
  if (original.ok() && recon.ok() && r.position_bits_size() == positions) {
    grid->rows.push_back(LatentGridRow(r, *original, *recon));
    grid->latent = true;
  } else if (original.ok() && recon.ok() && r.keep_bitmaps_size() == r.tiles()) {
    at::Tensor keep = KeepPicture(r);
    grid->rows.push_back(PanelRow({*original, keep, *original * (0.3 + 0.7 * keep), *recon}, /*scale=*/1));
  }
}

// After the table: images stored per receiver, the grid file, and what the columns mean.
void PrintSendSummary(const SendConfig& config, const std::map<std::string, int>& by_receiver, const SendGrid& grid) {
  for (const auto& [receiver, n] : by_receiver)
    if (!receiver.empty()) std::printf("stored by %s: %d image%s\n", receiver.c_str(), n, n == 1 ? "" : "s");
  if (!grid.rows.empty()) {
    const std::string path = config.out_dir + "/grid.png";
    if (SavePng(path, StackRows(grid.rows)).ok())
      std::printf("wrote %s (%s) and <id>_recon.png\n", path.c_str(),
                  grid.latent ? "original | bits per latent position | reconstruction | |error|"
                              : "original | kept patches | overlay | reconstruction");
  }
  std::printf("payload %s, precision %s; wire B = serialized sender->receiver packet; bpp = wire bits per pixel\n",
              PayloadKindName(config.payload),
              CarriesFeatures(config.payload) ? PrecisionName(config.precision) : "n/a");
  if (CarriesLatents(config.payload))
    std::printf("latent B = the rANS stream inside the packet; est B = the codec's entropy model's estimate; "
                "lvl = step level (0 = finest)\n");
}

}  // namespace

int RunSend(const SendConfig& config, const std::vector<std::string>& images) {
  if (images.empty()) {
    std::fprintf(stderr, "mt-client send: give at least one image file\n");
    return 2;
  }
  std::string error;
  std::shared_ptr<grpc::Channel> channel = Connect(config.connection, &error);
  if (!channel) {
    std::fprintf(stderr, "mt-client: %s\n", error.c_str());
    return 2;
  }
  auto stub = v1::Sender::NewStub(channel);
  if (!config.out_dir.empty()) std::filesystem::create_directories(config.out_dir);
  const bool latent = CarriesLatents(config.payload);
  PrintSendHeader(latent);
  int failures = 0;
  SendGrid grid;
  std::map<std::string, int> by_receiver;  // which receiver stored how many (several behind one sender)
  for (const std::string& path : images) {
    absl::StatusOr<std::string> bytes = ReadFileToString(path);
    if (!bytes.ok()) {
      std::fprintf(stderr, "%s\n", bytes.status().ToString().c_str());
      ++failures;
      continue;
    }
    const v1::SendRequest req = SendRequestFor(config, path, *std::move(bytes));
    grpc::ClientContext ctx;
    Prepare(&ctx, config.connection);
    v1::SendReply r;
    grpc::Status s = stub->Send(&ctx, req, &r);
    if (!s.ok()) {
      PrintRpcError(path.c_str(), s);
      ++failures;
      continue;
    }
    PrintRow(req.id(), r, latent);
    ++by_receiver[r.receiver()];
    if (!config.out_dir.empty()) SaveReconstruction(config.out_dir, req, r, &grid);
  }
  PrintSendSummary(config, by_receiver, grid);
  return failures == 0 ? 0 : 1;
}

int RunHealth(const Connection& connection) {
  std::string error;
  std::shared_ptr<grpc::Channel> channel = Connect(connection, &error);
  if (!channel) {
    std::fprintf(stderr, "mt-client: %s\n", error.c_str());
    return 2;
  }
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  Prepare(&ctx, connection);
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status s = stub->Check(&ctx, req, &resp);
  if (!s.ok()) {
    PrintRpcError(connection.target.c_str(), s);
    return 1;
  }
  std::printf("%s: %s\n", connection.target.c_str(),
              grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status()).c_str());
  return resp.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

int RunInfo(const Connection& connection, const std::string& role) {
  std::string error;
  std::shared_ptr<grpc::Channel> channel = Connect(connection, &error);
  if (!channel) {
    std::fprintf(stderr, "mt-client: %s\n", error.c_str());
    return 2;
  }
  grpc::ClientContext ctx;
  Prepare(&ctx, connection);
  v1::ModelInfo info;
  grpc::Status s = role == "receiver" ? v1::Receiver::NewStub(channel)->Info(&ctx, v1::InfoRequest(), &info)
                                      : v1::Sender::NewStub(channel)->Info(&ctx, v1::InfoRequest(), &info);
  if (!s.ok()) {
    PrintRpcError(connection.target.c_str(), s);
    return 1;
  }
  std::printf("role               %s\nmodel fingerprint  %s\nimage (tile) size  %d\npatch size         %d\n"
              "encoder            width %d, %d blocks\ndecoder            width %d, %d blocks\n",
              info.role().c_str(), info.model_fingerprint().c_str(), info.image_size(), info.patch_size(),
              info.encoder_width(), info.encoder_depth(), info.decoder_width(), info.decoder_depth());
  if (!info.masker().empty()) std::printf("masker             %s (%s)\n", info.masker().c_str(), info.masker_checkpoint().c_str());
  std::printf("MAE checkpoint     %s\nmax pixels         %lld\n", info.mae_checkpoint().c_str(),
              static_cast<long long>(info.max_pixels()));
  if (info.codec_fingerprint().empty()) {
    std::printf("codec              none (payload latent disabled)\n");
  } else {
    std::printf("codec fingerprint  %s\ncodec              %d step levels (latent_level 0..%d), %d latent channels\n"
                "codec checkpoint   %s\n",
                info.codec_fingerprint().c_str(), info.codec_levels(), info.codec_levels() - 1, info.codec_channels(),
                info.codec_checkpoint().c_str());
  }
  if (!info.receiver().empty())
    std::printf("receiver           %s (%s)\n", info.receiver().c_str(), info.receiver_state().c_str());
  if (info.role() == "sender" && info.default_payload() != v1::PAYLOAD_KIND_UNSPECIFIED) {
    absl::StatusOr<PayloadKind> kind = server::FromProto(info.default_payload(), PayloadKind::kLatent, "payload");
    std::printf("unset payload      %s (what a request without 'payload' gets)\n",
                kind.ok() ? PayloadKindName(*kind) : "unknown");
  }
  return 0;
}

}  // namespace mt::client
