#include "train/import_mae.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/io/checkpoint.h"
#include "core/io/fingerprint.h"
#include "core/io/official_mae.h"
#include "core/io/torch_pickle.h"
#include "core/runtime/log.h"

namespace mt::train_cli {

absl::Status ImportOfficialMae(const MaeImportArgs& args) {
  if (args.from.empty() || args.out.empty()) return absl::InvalidArgumentError("import needs --from and --out");
  absl::StatusOr<std::map<std::string, at::Tensor>> state = ReadTorchStateDict(args.from, "model");
  if (!state.ok()) return state.status();
  OfficialMaeImportOptions import;
  import.num_heads = args.num_heads;
  import.decoder_num_heads = args.decoder_num_heads;
  import.imagenet_normalization = args.imagenet_normalization;
  std::vector<std::string> ignored;
  absl::StatusOr<MaskedAutoencoder> mae = MaeFromOfficialStateDict(*state, import, &ignored);
  if (!mae.ok()) return absl::Status(mae.status().code(), absl::StrCat(args.from, ": ", mae.status().message()));
  const MaskedAutoencoderOptions& o = (*mae)->options();
  log::info("{}: {} tensors; MAE {}x{} tiles, patch {}, encoder {}x{} ({} heads), decoder {}x{} ({} heads), "
            "mlp ratio {}, input normalisation {}",
            args.from, state->size(), o.img_size, o.img_size, o.patch_size, o.depth, o.embed_dim, o.num_heads,
            o.decoder_depth, o.decoder_embed_dim, o.decoder_num_heads, o.mlp_ratio,
            o.normalizes_input() ? "ImageNet mean/std" : "none");
  if (!ignored.empty()) log::warn("left out (not part of the MAE): {}", absl::StrJoin(ignored, ", "));
  if (absl::Status s = SaveCheckpoint(args.out, *mae, args.fp16 ? WeightStorage::kFloat16 : WeightStorage::kFloat32);
      !s.ok())
    return s;
  log::info("wrote {} (fingerprint {})", args.out, ModelFingerprint(**mae));
  return absl::OkStatus();
}

}  // namespace mt::train_cli
