// Default paths of the shipped model checkpoints, relative to the repository root (or the
// container's working directory). Spelled here only, so the flags, configs and benchmarks of every
// binary agree on them.
#pragma once

namespace mt {

inline constexpr char kDefaultMaeCheckpoint[] = "weights/mae.pt";        // MAE encoder + decoder
inline constexpr char kDefaultMaskerCheckpoint[] = "weights/masker.pt";  // patch scorer
inline constexpr char kDefaultCodecCheckpoint[] = "weights/codec.pt";    // latent codec (payload 'latent')

}  // namespace mt
