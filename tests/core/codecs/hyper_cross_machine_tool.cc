// Encodes photos with a hyperprior codec in one process and decodes them in another, so a test
// can run the two under different BLAS kernels and thread counts (tests/core/codecs/
// hyper_cross_machine_test.sh) and compare what the receiver decodes with what the sender coded,
// bit for bit.
//   encode CODEC LEVEL OUT IMAGE...  → OUT/<i>.stream (the latent stream) and OUT/<i>.want (the
//                                       latents it decodes to in this process, fp32)
//   decode CODEC LEVEL OUT IMAGE...  → decodes every OUT/<i>.stream; exit 0 only when every
//                                       latent equals OUT/<i>.want bit for bit
// Both print the BLAS kernels and threads they ran with.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/codec/tiling.h"
#include "core/codecs/tile_codec_registry.h"
#include "core/io/image_io.h"
#include "core/pipeline/latent_rate_control.h"
#include "core/runtime/blas_core.h"

namespace {

struct Tiles {
  at::Tensor y, keep;
  int64_t count = 0;
};

bool Load(const mt::TileCodec& codec, const std::string& path, Tiles* out) {
  absl::StatusOr<at::Tensor> image = mt::LoadImageRgb(path);
  if (!image.ok()) return std::fprintf(stderr, "%s\n", image.status().ToString().c_str()), false;
  const mt::TileGrid grid = *mt::PlanTiles(image->size(1), image->size(2), codec.tile_size());
  out->keep = mt::ImageCells(grid, codec.patch_size());
  out->y = codec.Analyze(mt::SplitTiles(*image, grid), std::min(image->size(1), codec.tile_size()),
                         std::min(image->size(2), codec.tile_size()));
  out->count = grid.count();
  return true;
}

void Write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Bytes(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * sizeof(float));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6 || (std::strcmp(argv[1], "encode") != 0 && std::strcmp(argv[1], "decode") != 0)) {
    std::fprintf(stderr, "usage: %s encode|decode CODEC LEVEL OUT_DIR IMAGE...\n", argv[0]);
    return 2;
  }
  const bool encode = std::strcmp(argv[1], "encode") == 0;
  const int64_t level = std::stoll(argv[3]);
  const std::string out = argv[4];
  absl::StatusOr<std::shared_ptr<const mt::TileCodec>> codec = mt::LoadTileCodec(argv[2]);
  if (!codec.ok()) return std::fprintf(stderr, "%s\n", codec.status().ToString().c_str()), 1;
  std::printf("%s: %s codec, BLAS kernels '%s', %d threads\n", argv[1], std::string((*codec)->name()).c_str(),
              mt::LoadedBlasCore().c_str(), at::get_num_threads());
  int mismatches = 0;
  for (int i = 5; i < argc; ++i) {
    Tiles t;
    if (!Load(**codec, argv[i], &t)) return 1;
    const std::string base = out + "/" + std::to_string(i - 5);
    if (encode) {
      const std::string stream = (*codec)->EncodeTiles(t.y, t.keep, level);
      Write(base + ".stream", stream);
      at::Tensor keep, latents;  // what this process decodes is what the other must decode
      const absl::Status s = (*codec)->DecodeTiles(stream, t.count, level, &keep, &latents);
      if (!s.ok()) return std::fprintf(stderr, "%s: %s\n", argv[i], s.ToString().c_str()), 1;
      Write(base + ".want", Bytes(latents));
      std::printf("%s: %lld tiles, %zu bytes\n", argv[i], static_cast<long long>(t.count), stream.size());
      continue;
    }
    at::Tensor keep, latents;
    const absl::Status s = (*codec)->DecodeTiles(Read(base + ".stream"), t.count, level, &keep, &latents);
    if (!s.ok()) {
      std::printf("%s: %s\n", argv[i], s.ToString().c_str());
      ++mismatches;
      continue;
    }
    const bool same = Bytes(latents) == Read(base + ".want") && at::equal(keep, t.keep);
    std::printf("%s: %lld latents %s\n", argv[i], static_cast<long long>(latents.numel()),
                same ? "identical bit for bit" : "DIFFER");
    mismatches += !same;
  }
  return mismatches == 0 ? 0 : 1;
}
