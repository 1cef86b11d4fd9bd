#include "core/codecs/tile_codec_registry.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/codecs/conv_tile_codec.h"
#include "core/codecs/hyper_tile_codec.h"
#include "core/codecs/mae_bottleneck_tile_codec.h"
#include "core/io/checkpoint.h"

namespace mt {
namespace {

using Loader = absl::StatusOr<std::shared_ptr<const TileCodec>> (*)(const std::string& path, ComputePrecision compute);

template <typename Codec, typename Module, absl::StatusOr<Module> (*Load)(const std::string&)>
absl::StatusOr<std::shared_ptr<const TileCodec>> LoadAs(const std::string& path, ComputePrecision compute) {
  absl::StatusOr<Module> module = Load(path);
  if (!module.ok()) return module.status();
  absl::StatusOr<std::shared_ptr<const Codec>> codec = Codec::Create(*std::move(module), compute);
  if (!codec.ok()) return codec.status();
  return std::shared_ptr<const TileCodec>(*std::move(codec));
}

struct Entry {
  const char* kind;
  Loader load;
};

// One line per codec.
const Entry kTileCodecs[] = {
    {kLatentCodecKind, &LoadAs<MaeBottleneckTileCodec, LatentCodec, &LoadLatentCodec>},
    {kConvCodecKind, &LoadAs<ConvTileCodec, ConvCodec, &LoadConvCodec>},
    {kConvHyperCodecKind, &LoadAs<HyperTileCodec, ConvCodec, &LoadConvCodec>},
};

}  // namespace

std::vector<std::string> TileCodecKinds() {
  std::vector<std::string> kinds;
  for (const Entry& e : kTileCodecs) kinds.push_back(e.kind);
  return kinds;
}

absl::StatusOr<std::shared_ptr<const TileCodec>> LoadTileCodec(const std::string& path, ComputePrecision compute) {
  absl::StatusOr<CheckpointInfo> info = ReadCheckpointInfo(path);
  if (!info.ok()) return info.status();
  for (const Entry& e : kTileCodecs)
    if (info->kind == e.kind) return e.load(path, compute);
  return absl::FailedPreconditionError(absl::StrCat("checkpoint '", path, "' holds a ", info->kind,
                                                    " model, expected a codec (",
                                                    absl::StrJoin(TileCodecKinds(), " or "), ")"));
}

}  // namespace mt
