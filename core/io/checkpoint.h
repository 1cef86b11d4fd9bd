// Model checkpoints: weights + the options that built them, in a TorchScript
// archive (torch::save format) that Python can open with torch.jit.load.
// Layout: top-level attributes `mt_format` (int), `mt_kind` ("mae" | "masker" | "codec" | "conv_codec" | "conv_hyper_codec"),
// `mt_config` (YAML of the options); submodule `model` holds the weights
// under their module names (patch_embed.proj.weight, blocks.0.attn.qkv.weight, …).
#pragma once

#include <functional>
#include <string>

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/conv_codec.h"
#include "core/model/latent_codec.h"
#include "core/model/mae.h"
#include "core/model/masker.h"

namespace mt {

inline constexpr int64_t kCheckpointFormat = 1;

enum class WeightStorage { kFloat32, kFloat16 };  // fp16 halves the file; loads back as fp32

struct CheckpointInfo {
  std::string kind;         // "mae" or "masker"
  std::string config_yaml;  // options that built the model
  int64_t format = 0;
};

// Writes atomically (temp file + rename). Errors: INTERNAL/PERMISSION_DENIED-style IO failures.
absl::Status SaveCheckpoint(const std::string& path, MaskedAutoencoder& model,
                            WeightStorage storage = WeightStorage::kFloat32);
absl::Status SaveCheckpoint(const std::string& path, Masker& model,
                            WeightStorage storage = WeightStorage::kFloat32);
// Codecs are always stored in fp32 (their coding tables must not be rounded).
absl::Status SaveCheckpoint(const std::string& path, LatentCodec& model);
absl::Status SaveCheckpoint(const std::string& path, ConvCodec& model);

// Extra entries a trainer stores beside the weights (optimizer state, counters), under the
// top-level key `trainer`. Readers that do not know them ignore them.
using ArchiveWriter = std::function<void(torch::serialize::OutputArchive&)>;
using ArchiveReader = std::function<absl::Status(torch::serialize::InputArchive&)>;
absl::Status SaveCheckpoint(const std::string& path, MaskedAutoencoder& model, WeightStorage storage,
                            const ArchiveWriter& trainer_state);
absl::Status SaveCheckpoint(const std::string& path, Masker& model, WeightStorage storage,
                            const ArchiveWriter& trainer_state);
absl::Status SaveCheckpoint(const std::string& path, LatentCodec& model, const ArchiveWriter& trainer_state);
absl::Status SaveCheckpoint(const std::string& path, ConvCodec& model, const ArchiveWriter& trainer_state);

// Loads weights into an existing model of kind `kind` ("mae" | "masker") whose shapes must
// match, then hands the `trainer` archive to `trainer_state` (FAILED_PRECONDITION if absent).
absl::Status LoadCheckpointInto(const std::string& path, const std::string& kind, torch::nn::Module& model,
                                const ArchiveReader& trainer_state);

// Reads only the metadata. NOT_FOUND for a missing file, DATA_LOSS for a corrupt one.
absl::StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& path);

// Builds the model from the stored options and loads every weight; FAILED_PRECONDITION on
// a wrong kind, a missing weight or a shape mismatch (the message names the weight).
absl::StatusOr<MaskedAutoencoder> LoadMae(const std::string& path);
absl::StatusOr<Masker> LoadMasker(const std::string& path);
absl::StatusOr<LatentCodec> LoadLatentCodec(const std::string& path);
absl::StatusOr<ConvCodec> LoadConvCodec(const std::string& path);

// Checkpoint kinds of the latent codecs. A conv codec exported with hyperprior tables is
// kConvHyperCodecKind (its training checkpoints stay kConvCodecKind); LoadConvCodec reads both.
inline constexpr char kLatentCodecKind[] = "codec";
inline constexpr char kConvCodecKind[] = "conv_codec";
inline constexpr char kConvHyperCodecKind[] = "conv_hyper_codec";

}  // namespace mt
