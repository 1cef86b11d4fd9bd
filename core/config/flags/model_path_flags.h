// The model-path flags every binary shares: --mae_checkpoint, --masker_checkpoint and
// --codec_checkpoint, one name, one default (core/config/model_paths.h) and one help text each.
//
// Each flag lives in its own file (core/config/flags/<name>_flag.cc) of the static library
// mt_model_flags, and a static library links only the objects a binary references: calling an
// accessor below is what puts its flag into a binary, so mt-receiver, which never asks for the
// masker, has no --masker_checkpoint. Read the flags through these accessors (absl::GetFlag on the
// returned flag), never by declaring FLAGS_<name> elsewhere.
#pragma once

#include <string>

#include "absl/flags/flag.h"

namespace mt {

// --mae_checkpoint: the MAE (encoder + decoder). Default kDefaultMaeCheckpoint.
const absl::Flag<std::string>& MaeCheckpointFlag();

// --masker_checkpoint: the patch scorer. Default kDefaultMaskerCheckpoint.
const absl::Flag<std::string>& MaskerCheckpointFlag();

// --codec_checkpoint: the latent codec of payload 'latent'. Default kDefaultCodecCheckpoint.
const absl::Flag<std::string>& CodecCheckpointFlag();

}  // namespace mt
