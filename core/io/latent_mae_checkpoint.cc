#include "core/io/latent_mae_checkpoint.h"

#include "absl/strings/str_cat.h"
#include "core/config/latent_mae_config.h"
#include "core/io/module_checkpoint.h"

namespace mt {

absl::Status SaveCheckpoint(const std::string& path, LatentMae& model, const ArchiveWriter& trainer_state) {
  return SaveModuleCheckpoint(path, *model, kLatentMaeKind, ToYaml(model->options()), trainer_state);
}

absl::StatusOr<LatentMae> LoadLatentMae(const std::string& path) {
  absl::StatusOr<CheckpointInfo> info = ReadCheckpointInfo(path);
  if (!info.ok()) return info.status();
  if (info->kind != kLatentMaeKind)
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint '", path, "' holds a ", info->kind, " model, expected a ", kLatentMaeKind));
  absl::StatusOr<LatentMaeOptions> options = LatentMaeOptionsFromYaml(info->config_yaml);
  if (!options.ok())
    return absl::DataLossError(absl::StrCat("checkpoint '", path, "' has invalid options: ", options.status().message()));
  LatentMae model(*options);
  if (absl::Status s = LoadCheckpointInto(path, kLatentMaeKind, *model, nullptr); !s.ok()) return s;
  model->eval();
  return model;
}

}  // namespace mt
