// mt-train import: a facebookresearch/mae checkpoint (torch.save of {"model": state_dict}, e.g.
// mae_visualize_vit_base.pth) written as our MAE checkpoint, with the ImageNet input
// normalisation the official models expect recorded in its options.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace mt::train_cli {

struct MaeImportArgs {
  std::string from;                // the official .pth file
  std::string out;                 // our checkpoint to write
  int64_t num_heads = 0;           // encoder heads (0: the official choice for the width)
  int64_t decoder_num_heads = 16;  // decoder heads
  bool imagenet_normalization = true;
  bool fp16 = false;               // store weights as fp16
};

// Reads, converts and writes; logs the inferred architecture and any tensors left out.
// Errors: those of ReadTorchStateDict, MaeFromOfficialStateDict and SaveCheckpoint.
absl::Status ImportOfficialMae(const MaeImportArgs& args);

}  // namespace mt::train_cli
