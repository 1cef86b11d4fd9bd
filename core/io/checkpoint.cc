#include "core/io/checkpoint.h"

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/config/conv_codec_config.h"
#include "core/config/model_config.h"
#include "core/io/atomic_file.h"
#include "core/io/module_checkpoint.h"

namespace mt {
namespace {

constexpr char kMaeKind[] = "mae";
constexpr char kMaskerKind[] = "masker";
constexpr const char* kCodecKind = kLatentCodecKind;

// Mirrors Module::save, optionally storing floating tensors as fp16.
void WriteModule(const torch::nn::Module& module, torch::serialize::OutputArchive& archive,
                 WeightStorage storage) {
  auto store = [&](const at::Tensor& t) {
    at::Tensor c = t.detach().cpu();
    if (storage == WeightStorage::kFloat16 && c.is_floating_point()) c = c.to(at::kHalf);
    return c;
  };
  for (const auto& p : module.named_parameters(/*recurse=*/false))
    archive.write(p.key(), store(p.value()), /*is_buffer=*/false);
  for (const auto& b : module.named_buffers(/*recurse=*/false))
    archive.write(b.key(), store(b.value()), /*is_buffer=*/true);
  for (const auto& child : module.named_children()) {
    torch::serialize::OutputArchive sub(archive.compilation_unit());
    WriteModule(*child.value(), sub, storage);
    archive.write(child.key(), sub);
  }
}

// Mirrors Module::load but checks every shape and names what is wrong.
absl::Status ReadModule(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                        const std::string& prefix) {
  auto read = [&](const std::string& key, at::Tensor& target, bool is_buffer) -> absl::Status {
    const std::string name = prefix + key;
    at::Tensor stored;
    if (!archive.try_read(key, stored, is_buffer))
      return absl::FailedPreconditionError(absl::StrCat("checkpoint has no weight '", name, "'"));
    if (stored.sizes() != target.sizes())
      return absl::FailedPreconditionError(absl::StrCat(
          "weight '", name, "' has shape ", c10::str(stored.sizes()), " in the checkpoint but the model expects ",
          c10::str(target.sizes())));
    torch::NoGradGuard no_grad;
    target.copy_(stored.to(target.dtype()));
    return absl::OkStatus();
  };
  for (auto& p : module.named_parameters(false))
    if (absl::Status s = read(p.key(), p.value(), false); !s.ok()) return s;
  for (auto& b : module.named_buffers(false))
    if (absl::Status s = read(b.key(), b.value(), true); !s.ok()) return s;
  for (auto& child : module.named_children()) {
    torch::serialize::InputArchive sub;
    if (!archive.try_read(child.key(), sub))
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint has no module '", prefix + child.key(), "'"));
    if (absl::Status s = ReadModule(*child.value(), sub, prefix + child.key() + "."); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Save(const std::string& path, const torch::nn::Module& model, const std::string& kind,
                  const std::string& config_yaml, WeightStorage storage, const ArchiveWriter& extra) {
  std::string bytes;
  try {
    torch::serialize::OutputArchive archive;
    archive.write("mt_format", c10::IValue(kCheckpointFormat));
    archive.write("mt_kind", c10::IValue(kind));
    archive.write("mt_config", c10::IValue(config_yaml));
    torch::serialize::OutputArchive weights(archive.compilation_unit());
    WriteModule(model, weights, storage);
    archive.write("model", weights);
    if (extra) {
      torch::serialize::OutputArchive state(archive.compilation_unit());
      extra(state);
      archive.write("trainer", state);
    }
    archive.save_to([&bytes](const void* data, size_t n) {
      bytes.append(static_cast<const char*>(data), n);
      return n;
    });
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot write checkpoint '", path, "': ", e.what_without_backtrace()));
  }
  // Temp file + fsync + rename + fsync of the folder: a crash leaves the old checkpoint or the new.
  absl::Status written = WriteFileAtomic(path, bytes);
  if (!written.ok()) return absl::InternalError(absl::StrCat("cannot write checkpoint '", path, "': ", written.message()));
  return absl::OkStatus();
}

absl::Status Open(const std::string& path, torch::serialize::InputArchive& archive) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return absl::NotFoundError(absl::StrCat("checkpoint '", path, "' does not exist or is not a file"));
  try {
    archive.load_from(path, at::kCPU);
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("checkpoint '", path, "' is not a readable archive (corrupt or "
                                            "truncated?): ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckpointInfo> ReadInfo(const std::string& path, torch::serialize::InputArchive& archive) {
  CheckpointInfo info;
  c10::IValue format, kind, config;
  bool complete = false;
  try {
    complete = archive.try_read("mt_format", format) && archive.try_read("mt_kind", kind) &&
               archive.try_read("mt_config", config);
  } catch (const c10::Error&) {
    complete = false;
  }
  if (!complete || !format.isInt() || !kind.isString() || !config.isString())
    return absl::DataLossError(absl::StrCat("'", path, "' is not a masking-transformer checkpoint (metadata missing)"));
  info.format = format.toInt();
  info.kind = kind.toStringRef();
  info.config_yaml = config.toStringRef();
  if (info.format != kCheckpointFormat)
    return absl::FailedPreconditionError(absl::StrCat("checkpoint '", path, "' has format ", info.format,
                                                      "; this build reads format ", kCheckpointFormat));
  return info;
}

template <typename ModelT, typename OptionsT>
absl::StatusOr<ModelT> Load(const std::string& path, const char* want_kind,
                            absl::StatusOr<OptionsT> (*parse)(std::string_view)) {
  torch::serialize::InputArchive archive;
  if (absl::Status s = Open(path, archive); !s.ok()) return s;
  absl::StatusOr<CheckpointInfo> info = ReadInfo(path, archive);
  if (!info.ok()) return info.status();
  if (info->kind != want_kind)
    return absl::FailedPreconditionError(absl::StrCat("checkpoint '", path, "' holds a ", info->kind,
                                                      " model, expected a ", want_kind));
  absl::StatusOr<OptionsT> options = parse(info->config_yaml);
  if (!options.ok())
    return absl::DataLossError(absl::StrCat("checkpoint '", path, "' has invalid options: ", options.status().message()));
  ModelT model(*options);
  torch::serialize::InputArchive weights;
  try {
    if (!archive.try_read("model", weights))
      return absl::DataLossError(absl::StrCat("checkpoint '", path, "' has no weights"));
    if (absl::Status s = ReadModule(*model, weights, ""); !s.ok())
      return absl::FailedPreconditionError(absl::StrCat("checkpoint '", path, "': ", s.message()));
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("checkpoint '", path, "' is corrupt: ", e.what_without_backtrace()));
  }
  return model;
}

}  // namespace

absl::Status SaveModuleCheckpoint(const std::string& path, const torch::nn::Module& model, const std::string& kind,
                                  const std::string& config_yaml, const ArchiveWriter& trainer_state) {
  return Save(path, model, kind, config_yaml, WeightStorage::kFloat32, trainer_state);
}

absl::Status SaveCheckpoint(const std::string& path, MaskedAutoencoder& model, WeightStorage storage) {
  return Save(path, *model, kMaeKind, ToYaml(model->options()), storage, nullptr);
}

absl::Status SaveCheckpoint(const std::string& path, Masker& model, WeightStorage storage) {
  return Save(path, *model, kMaskerKind, ToYaml(model->options()), storage, nullptr);
}

absl::Status SaveCheckpoint(const std::string& path, MaskedAutoencoder& model, WeightStorage storage,
                            const ArchiveWriter& trainer_state) {
  return Save(path, *model, kMaeKind, ToYaml(model->options()), storage, trainer_state);
}

absl::Status SaveCheckpoint(const std::string& path, Masker& model, WeightStorage storage,
                            const ArchiveWriter& trainer_state) {
  return Save(path, *model, kMaskerKind, ToYaml(model->options()), storage, trainer_state);
}

absl::Status SaveCheckpoint(const std::string& path, LatentCodec& model) {
  return Save(path, *model, kCodecKind, ToYaml(model->options()), WeightStorage::kFloat32, nullptr);
}

absl::Status SaveCheckpoint(const std::string& path, LatentCodec& model, const ArchiveWriter& trainer_state) {
  return Save(path, *model, kCodecKind, ToYaml(model->options()), WeightStorage::kFloat32, trainer_state);
}

absl::Status SaveCheckpoint(const std::string& path, ConvCodec& model) {
  // An exported hyperprior codec is served by another TileCodec (core/codecs/tile_codec_registry).
  const bool hyper_tables = model->options().hyper_scales > 0;
  return Save(path, *model, hyper_tables ? kConvHyperCodecKind : kConvCodecKind, ToYaml(model->options()),
              WeightStorage::kFloat32, nullptr);
}

absl::Status SaveCheckpoint(const std::string& path, ConvCodec& model, const ArchiveWriter& trainer_state) {
  return Save(path, *model, kConvCodecKind, ToYaml(model->options()), WeightStorage::kFloat32, trainer_state);
}

absl::Status LoadCheckpointInto(const std::string& path, const std::string& kind, torch::nn::Module& model,
                                const ArchiveReader& trainer_state) {
  torch::serialize::InputArchive archive;
  if (absl::Status s = Open(path, archive); !s.ok()) return s;
  absl::StatusOr<CheckpointInfo> info = ReadInfo(path, archive);
  if (!info.ok()) return info.status();
  if (info->kind != kind)
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint '", path, "' holds a ", info->kind, " model, expected a ", kind));
  try {
    torch::serialize::InputArchive weights, state;
    if (!archive.try_read("model", weights))
      return absl::DataLossError(absl::StrCat("checkpoint '", path, "' has no weights"));
    if (absl::Status s = ReadModule(model, weights, ""); !s.ok())
      return absl::FailedPreconditionError(absl::StrCat("checkpoint '", path, "': ", s.message()));
    if (!trainer_state) return absl::OkStatus();
    if (!archive.try_read("trainer", state))
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint '", path, "' has no trainer state (weights-only checkpoints cannot resume)"));
    return trainer_state(state);
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("checkpoint '", path, "' is corrupt: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& path) {
  torch::serialize::InputArchive archive;
  if (absl::Status s = Open(path, archive); !s.ok()) return s;
  return ReadInfo(path, archive);
}

absl::StatusOr<MaskedAutoencoder> LoadMae(const std::string& path) {
  return Load<MaskedAutoencoder, MaskedAutoencoderOptions>(path, kMaeKind, &MaeOptionsFromYaml);
}

absl::StatusOr<Masker> LoadMasker(const std::string& path) {
  return Load<Masker, MaskerOptions>(path, kMaskerKind, &MaskerOptionsFromYaml);
}

absl::StatusOr<LatentCodec> LoadLatentCodec(const std::string& path) {
  return Load<LatentCodec, LatentCodecOptions>(path, kCodecKind, &LatentCodecOptionsFromYaml);
}

absl::StatusOr<ConvCodec> LoadConvCodec(const std::string& path) {
  absl::StatusOr<CheckpointInfo> info = ReadCheckpointInfo(path);
  if (!info.ok()) return info.status();
  const char* kind = info->kind == kConvHyperCodecKind ? kConvHyperCodecKind : kConvCodecKind;
  return Load<ConvCodec, ConvCodecOptions>(path, kind, &ConvCodecOptionsFromYaml);
}

}  // namespace mt
