// local: the pipeline in-process on one model-size tile per image (centre crop, resized).
// Features/pixels payloads go through the TileReconstructor; latent through PacketEncoder →
// PacketDecoder with the codec of --codec_checkpoint.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "core/io/checkpoint.h"
#include "core/io/image_io.h"
#include "core/io/visualization.h"
#include "core/metrics/image_metrics.h"
#include "core/codecs/tile_codec_registry.h"
#include "core/pipeline/packet_decoder.h"
#include "core/pipeline/packet_encoder.h"
#include "core/pipeline/tile_reconstructor.h"
#include "core/runtime/stopwatch.h"

namespace mt::client {
namespace {

struct Models {
  MaskedAutoencoder mae{nullptr};
  Masker masker{nullptr};
};

// The MAE and masker of the config, or untrained ones (with a warning) where no path is given.
absl::StatusOr<Models> LoadModels(const LocalConfig& c) {
  Models m;
  at::manual_seed(c.seed);
  if (c.mae_checkpoint.empty()) {
    spdlog::warn("no --mae_checkpoint: using an UNTRAINED seed-size MAE; reconstructions will be noise");
    m.mae = MaskedAutoencoder(MaskedAutoencoderOptions{});
  } else {
    absl::StatusOr<MaskedAutoencoder> mae = LoadMae(c.mae_checkpoint);
    if (!mae.ok())
      return absl::Status(mae.status().code(), absl::StrCat(mae.status().message(),
                                                            " (run from the repository root, pass --mae_checkpoint=PATH, "
                                                            "or --mae_checkpoint= for an untrained MAE)"));
    m.mae = *mae;
  }
  if (c.masker_checkpoint.empty()) {
    spdlog::warn("no --masker_checkpoint: using an UNTRAINED masker; patch choice is arbitrary");
    MaskerOptions o;
    o.img_size = m.mae->options().img_size;
    o.patch_size = m.mae->options().patch_size;
    m.masker = Masker(o);
  } else {
    absl::StatusOr<Masker> masker = LoadMasker(c.masker_checkpoint);
    if (!masker.ok())
      return absl::Status(masker.status().code(),
                          absl::StrCat(masker.status().message(),
                                       " (pass --masker_checkpoint=PATH, or --masker_checkpoint= for an untrained masker)"));
    m.masker = *masker;
  }
  return m;
}

// The codec for payload latent; an error naming --codec_checkpoint when it is missing, does not
// load, or does not fit the MAE's tile and patch size.
absl::StatusOr<std::shared_ptr<const TileCodec>> LoadCoder(const LocalConfig& c,
                                                             const MaskedAutoencoderOptions& mae) {
  if (c.codec_checkpoint.empty() || !std::filesystem::exists(c.codec_checkpoint))
    return absl::NotFoundError(absl::StrCat("--codec_checkpoint '", c.codec_checkpoint,
                                            "' does not exist; payload latent needs an exported codec"));
  absl::StatusOr<std::shared_ptr<const TileCodec>> coder = LoadTileCodec(c.codec_checkpoint, c.compute);
  if (!coder.ok()) return coder.status();
  if (absl::Status s = (*coder)->CheckPairedWith(mae); !s.ok())
    return absl::Status(s.code(), absl::StrCat("--codec_checkpoint: ", s.message()));
  return coder;
}

// Writes <stem>_grid.png and <stem>_recon.png; false after saying why.
bool SavePictures(const std::string& out_dir, const std::string& stem, const at::Tensor& row, const at::Tensor& recon) {
  bool ok = true;
  for (const auto& [file, picture] : {std::pair<std::string, at::Tensor>{stem + "_grid.png", row},
                                      {stem + "_recon.png", recon}}) {
    absl::Status s = SavePng(out_dir + "/" + file, picture);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      ok = false;
    }
  }
  return ok;
}

// One tile per image through the TileReconstructor (features/pixels payloads).
int RunTiles(const LocalConfig& c, const Models& m, const PatchSelector& selector,
             const std::vector<std::string>& images) {
  TileReconstructor reconstructor(m.mae, m.masker);
  const MaskedAutoencoderOptions& o = reconstructor.mae_options();
  const EncoderContext context = c.full_context ? EncoderContext::kFullContext : EncoderContext::kVisibleOnly;
  std::printf("%-22s %7s %9s %10s %10s %10s %9s %8s\n", "image", "kept", "raw B", "pixels B", "PSNR dec",
              "PSNR comp", "SSIM comp", "ms");
  int failures = 0;
  std::vector<at::Tensor> rows;
  for (const std::string& path : images) {
    absl::StatusOr<at::Tensor> image = LoadImageRgb(path);
    if (!image.ok()) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), image.status().ToString().c_str());
      ++failures;
      continue;
    }
    at::Tensor tile = CenterCropResize(*image, o.img_size);
    const auto t0 = std::chrono::steady_clock::now();
    TileReconstruction r = reconstructor.Reconstruct(tile, selector, context);
    const double ms = MsSince(t0);
    const at::Tensor ref = tile.unsqueeze(0);
    const double psnr_dec = Psnr(ref, r.decoded.unsqueeze(0)).item<double>();
    const double psnr_comp = Psnr(ref, r.composite.unsqueeze(0)).item<double>();
    const double ssim_comp = Ssim(ref, r.composite.unsqueeze(0)).item<double>();
    const int64_t raw = 3 * o.img_size * o.img_size;
    // Kept 8-bit pixels plus a one-bit-per-patch position bitmap.
    const int64_t pixel_bytes = r.kept * o.patch_dim() + (o.num_patches() + 7) / 8;
    const std::string stem = std::filesystem::path(path).stem().string();
    std::printf("%-22s %3lld/%-3lld %9lld %10lld %10.2f %10.2f %9.4f %8.1f\n", stem.c_str(),
                static_cast<long long>(r.kept), static_cast<long long>(o.num_patches()), static_cast<long long>(raw),
                static_cast<long long>(pixel_bytes), psnr_dec, psnr_comp, ssim_comp, ms);
    rows.push_back(PanelRow({tile, MaskPicture(r.keep, o.patch_size, o.grid_size()),
                             MaskOverlay(tile, r.keep, o.patch_size), r.decoded, r.composite},
                            /*scale=*/8));
    if (!SavePictures(c.out_dir, stem, rows.back(), r.composite)) ++failures;
  }
  if (!rows.empty() && SavePng(c.out_dir + "/grid.png", StackRows(rows)).ok())
    std::printf("wrote %s/grid.png (original | kept patches | overlay | decoder | composite)\n", c.out_dir.c_str());
  return failures == 0 ? 0 : 1;
}

struct LatentRun {
  at::Tensor tile;  // the image's centre crop at the model's size
  EncodedImage encoded;
  DecodedImage decoded;
};

absl::StatusOr<LatentRun> EncodeAndDecode(const PacketEncoder& encoder, const PacketDecoder& decoder,
                                           const std::string& path, int64_t size, const EncodeOptions& options) {
  absl::StatusOr<at::Tensor> image = LoadImageRgb(path);
  if (!image.ok()) return image.status();
  LatentRun r;
  r.tile = CenterCropResize(*image, size);
  absl::StatusOr<EncodedImage> e = encoder.Encode(r.tile, "local", options);
  if (!e.ok()) return e.status();
  absl::StatusOr<DecodedImage> d = decoder.Decode(e->packet);
  if (!d.ok()) return d.status();
  r.encoded = *std::move(e);
  r.decoded = *std::move(d);
  return r;
}

// One tile per image as a latent packet: PacketEncoder → stream → PacketDecoder.
int RunLatent(const LocalConfig& c, const Models& m, const SelectionPolicy& policy,
              const std::vector<std::string>& images) {
  absl::StatusOr<std::shared_ptr<const TileCodec>> coder = LoadCoder(c, m.mae->options());
  if (!coder.ok()) {
    std::fprintf(stderr, "mt-client local: %s\n", coder.status().ToString().c_str());
    return 1;
  }
  PacketEncoder encoder(m.mae, m.masker, c.compute, *coder);
  PacketDecoder decoder(m.mae, int64_t{1} << 40, c.compute, *coder);
  // The codec's own tile: 32 px for the MAE codec, 512 px for the conv codec.
  const int64_t tile_px = (*coder)->tile_size(), patch_px = (*coder)->patch_size(), grid = (*coder)->grid();
  EncodeOptions eo;
  eo.selection = policy;
  eo.payload = PayloadKind::kLatent;
  eo.latent_level = c.latent_level;
  std::printf("%-22s %7s %5s %9s %10s %7s %8s %8s %8s\n", "image", "kept", "level", "raw B", "latent B", "est B",
              "bpp", "PSNR", "SSIM");
  int failures = 0;
  std::vector<at::Tensor> rows;
  for (const std::string& path : images) {
    absl::StatusOr<LatentRun> r = EncodeAndDecode(encoder, decoder, path, tile_px, eo);
    if (!r.ok()) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), r.status().ToString().c_str());
      ++failures;
      continue;
    }
    const at::Tensor& tile = r->tile;
    const EncodedImage* e = &r->encoded;
    const DecodedImage* d = &r->decoded;
    const at::Tensor ref = tile.unsqueeze(0), out = d->image.unsqueeze(0);
    const int64_t bytes = PayloadBytes(e->packet);
    const std::string stem = std::filesystem::path(path).stem().string();
    std::printf("%-22s %3lld/%-3lld %5lld %9lld %10lld %7lld %8.3f %8.2f %8.4f\n", stem.c_str(),
                static_cast<long long>(e->kept), static_cast<long long>(grid * grid),
                static_cast<long long>(e->packet.latent_level), static_cast<long long>(3 * tile_px * tile_px),
                static_cast<long long>(bytes), static_cast<long long>(std::ceil(e->estimated_bits / 8.0)),
                8.0 * static_cast<double>(bytes) / static_cast<double>(tile_px * tile_px),
                Psnr(ref, out).item<double>(), Ssim(ref, out).item<double>());
    const at::Tensor keep = d->keep[0];
    rows.push_back(PanelRow(
        {tile, MaskPicture(keep, patch_px, grid), MaskOverlay(tile, keep, patch_px), d->image},
        /*scale=*/std::max<int64_t>(1, 256 / tile_px)));
    if (!SavePictures(c.out_dir, stem, rows.back(), d->image)) ++failures;
  }
  if (!rows.empty() && SavePng(c.out_dir + "/grid.png", StackRows(rows)).ok())
    std::printf("wrote %s/grid.png (original | kept patches | overlay | codec output)\n", c.out_dir.c_str());
  std::printf("payload latent (codec %s); latent B = the rANS stream, est B = the entropy model's estimate\n",
              (*coder)->fingerprint().c_str());
  return failures == 0 ? 0 : 1;
}

}  // namespace

int RunLocal(const LocalConfig& config, const std::vector<std::string>& images) {
  if (images.empty()) {
    std::fprintf(stderr, "mt-client local: give at least one image file\n");
    return 2;
  }
  SelectionPolicy policy;
  if (config.threshold >= 0) {
    policy.mode = SelectionPolicy::Mode::kThreshold;
    policy.threshold = config.threshold;
  } else {
    policy.mode = SelectionPolicy::Mode::kTopK;
    // As the sender: the latent payload keeps every patch unless told otherwise.
    policy.keep_ratio = config.keep_ratio > 0                 ? config.keep_ratio
                        : CarriesLatents(config.payload) ? 1.0
                                                         : kDefaultKeepRatio;
  }
  absl::StatusOr<PatchSelector> selector = PatchSelector::Create(policy);
  if (!selector.ok()) {
    std::fprintf(stderr, "mt-client: %s\n", std::string(selector.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<Models> models = LoadModels(config);
  if (!models.ok()) {
    std::fprintf(stderr, "mt-client: %s\n", models.status().ToString().c_str());
    return 1;
  }
  std::filesystem::create_directories(config.out_dir);
  if (CarriesLatents(config.payload)) return RunLatent(config, *models, policy, images);
  return RunTiles(config, *models, *selector, images);
}

}  // namespace mt::client
