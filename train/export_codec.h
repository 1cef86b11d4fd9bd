// `mt-train export` of a latent codec: coding tables for every step level, then (optionally) the
// spatial-context tables fitted to a folder of photos.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace mt::train_cli {

struct CodecExportArgs {
  std::string ckpt_path, out;
  std::string steps;         // "lo:hi:levels" (empty: 0.5:8:12)
  std::string context_data;  // folder of photos for the context tables; "none" = factorized only;
                             // "keep" (conv codec) = the exported tables as they are, compacted
  int context_buckets = 4;
  int threads = 0;
};

// Loads ckpt_path, builds the tables and writes `out`. INVALID_ARGUMENT for malformed --steps or
// buckets; NOT_FOUND when context_data has no images; errors of loading and saving as they are.
absl::Status ExportCodec(const CodecExportArgs& args);
// The same for a conv codec checkpoint (kind conv_codec): tables of its learned levels (--steps
// is refused), then the context fit.
absl::Status ExportConvCodec(const CodecExportArgs& args);

}  // namespace mt::train_cli
