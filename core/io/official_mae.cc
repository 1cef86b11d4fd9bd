#include "core/io/official_mae.h"

#include <torch/torch.h>

#include <cmath>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/config/model_config.h"

namespace mt {
namespace {

absl::StatusOr<at::Tensor> Need(const std::map<std::string, at::Tensor>& sd, const std::string& name, int64_t dims) {
  const auto it = sd.find(name);
  if (it == sd.end())
    return absl::FailedPreconditionError(absl::StrCat(
        "the checkpoint has no '", name, "'",
        absl::StartsWith(name, "decoder") ? " (an encoder-only mae_pretrain_* file? the receiver needs the "
                                            "decoder: use a mae_visualize_* checkpoint)"
                                          : ""));
  if (it->second.dim() != dims)
    return absl::FailedPreconditionError(
        absl::StrCat("'", name, "' has ", it->second.dim(), " dimensions, expected ", dims));
  return it->second;
}

// Number of blocks "<prefix>.<i>." in the state dict (indices 0..n-1 must all be there).
int64_t CountBlocks(const std::map<std::string, at::Tensor>& sd, const std::string& prefix) {
  std::set<int64_t> seen;
  for (const auto& [name, t] : sd) {
    if (!absl::StartsWith(name, prefix + ".")) continue;
    const std::string rest = name.substr(prefix.size() + 1);
    int64_t i = 0;
    if (absl::SimpleAtoi(rest.substr(0, rest.find('.')), &i)) seen.insert(i);
  }
  return seen.empty() || *seen.rbegin() + 1 != static_cast<int64_t>(seen.size()) ? 0 : static_cast<int64_t>(seen.size());
}

}  // namespace

absl::StatusOr<MaskedAutoencoderOptions> OfficialMaeOptions(const std::map<std::string, at::Tensor>& sd,
                                                            const OfficialMaeImportOptions& import) {
  MaskedAutoencoderOptions o;
  absl::StatusOr<at::Tensor> proj = Need(sd, "patch_embed.proj.weight", 4);  // (D, C, p, p)
  absl::StatusOr<at::Tensor> pos = Need(sd, "pos_embed", 3);                 // (1, 1+L, D)
  absl::StatusOr<at::Tensor> dec = Need(sd, "decoder_embed.weight", 2);      // (D_dec, D)
  absl::StatusOr<at::Tensor> fc1 = Need(sd, "blocks.0.mlp.fc1.weight", 2);   // (D·ratio, D)
  absl::StatusOr<at::Tensor> dfc1 = Need(sd, "decoder_blocks.0.mlp.fc1.weight", 2);
  for (const auto* t : {&proj, &pos, &dec, &fc1, &dfc1})
    if (!t->ok()) return t->status();
  o.embed_dim = proj->size(0);
  o.in_chans = proj->size(1);
  o.patch_size = proj->size(2);
  const int64_t patches = pos->size(1) - 1;
  const auto grid = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(patches))));
  if (grid * grid != patches || proj->size(3) != o.patch_size)
    return absl::FailedPreconditionError(absl::StrCat("pos_embed holds ", patches, " patch positions: not a square grid"));
  o.img_size = grid * o.patch_size;
  o.depth = CountBlocks(sd, "blocks");
  o.decoder_depth = CountBlocks(sd, "decoder_blocks");
  o.decoder_embed_dim = dec->size(0);
  o.mlp_ratio = static_cast<double>(fc1->size(0)) / static_cast<double>(o.embed_dim);
  if (dfc1->size(0) != static_cast<int64_t>(std::lround(o.mlp_ratio * static_cast<double>(o.decoder_embed_dim))))
    return absl::FailedPreconditionError("the decoder's MLP ratio differs from the encoder's (one ratio is supported)");
  o.num_heads = import.num_heads > 0 ? import.num_heads : (o.embed_dim == 1280 ? 16 : std::max<int64_t>(1, o.embed_dim / 64));
  o.decoder_num_heads = import.decoder_num_heads;
  if (import.imagenet_normalization) {
    o.input_mean = kImageNetMean;
    o.input_std = kImageNetStd;
  }
  if (absl::Status s = Validate(o); !s.ok())
    return absl::FailedPreconditionError(absl::StrCat("the checkpoint's shapes give invalid options: ", s.message()));
  return o;
}

absl::StatusOr<MaskedAutoencoder> MaeFromOfficialStateDict(const std::map<std::string, at::Tensor>& sd,
                                                           const OfficialMaeImportOptions& import,
                                                           std::vector<std::string>* ignored) {
  absl::StatusOr<MaskedAutoencoderOptions> options = OfficialMaeOptions(sd, import);
  if (!options.ok()) return options.status();
  MaskedAutoencoder model(*options);
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters(/*recurse=*/true)) {
    const auto it = sd.find(item.key());
    if (it == sd.end())
      return absl::FailedPreconditionError(absl::StrCat("the checkpoint has no '", item.key(), "'"));
    if (it->second.sizes() != item.value().sizes())
      return absl::FailedPreconditionError(absl::StrCat("'", item.key(), "' is ", c10::str(it->second.sizes()),
                                                        " in the checkpoint, ", c10::str(item.value().sizes()),
                                                        " in the model"));
    item.value().copy_(it->second.to(at::kFloat));
    used.insert(item.key());
  }
  for (const auto& [name, t] : sd)
    if (!used.count(name) && ignored != nullptr) ignored->push_back(name);
  model->eval();
  return model;
}

}  // namespace mt
