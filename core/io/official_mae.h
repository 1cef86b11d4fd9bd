// facebookresearch/mae checkpoints (models_mae.py state dicts, e.g. mae_visualize_vit_base.pth)
// as our MaskedAutoencoder: the parameter names already match; the options are read off the
// tensor shapes, and the input normalisation the official models expect (ImageNet mean/std) is
// recorded in the options, so the daemons feed them [0,1] pixels like any of our models.
// Thread-safety: free functions without shared state.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "core/model/mae.h"

namespace mt {

struct OfficialMaeImportOptions {
  int64_t num_heads = 0;           // encoder heads; 0: as the official models (width/64; ViT-H 1280: 16)
  int64_t decoder_num_heads = 16;  // decoder heads (16 in every official model)
  bool imagenet_normalization = true;  // the official models were trained on ImageNet-normalised input
};

// The options of the MAE that `state_dict` describes. FAILED_PRECONDITION naming the tensor when
// one the MAE needs is missing (an encoder-only mae_pretrain_* file has no decoder) or shaped
// inconsistently.
absl::StatusOr<MaskedAutoencoderOptions> OfficialMaeOptions(const std::map<std::string, at::Tensor>& state_dict,
                                                            const OfficialMaeImportOptions& import);

// The MAE with every weight copied from `state_dict` (as fp32). Names the state dict has and the
// model does not are appended to `ignored` (may be null). FAILED_PRECONDITION as OfficialMaeOptions,
// or for a tensor whose shape differs from the model's.
absl::StatusOr<MaskedAutoencoder> MaeFromOfficialStateDict(const std::map<std::string, at::Tensor>& state_dict,
                                                           const OfficialMaeImportOptions& import,
                                                           std::vector<std::string>* ignored);

}  // namespace mt
