// The integer coding tables a codec checkpoint carries (computed once at `mt-train export`, so
// sender and receiver code with identical tables on any machine): per rate level and channel a
// factorized CDF, and optionally spatial-context tables (core/entropy/latent_context).
// Buffers: cdf_sizes / cdf_offsets (S, C); ctx_predict (S, C), ctx_cdf_sizes / ctx_cdf_offsets
// (S, C, B+1); the CDFs cdf_tables / ctx_cdf_tables ragged: (N,), every table's `sizes` entries back
// to back in (s, c, b) order. Older checkpoints hold them padded, (S, C, W) and
// (S, C, B+1, Wc) with rows zero-filled to the longest table (93 % zeros in the shipped codec); they
// still load (the *_entries options are 0 there) and `mt-train export --context_data keep` compacts them.
// Thread-safety: Set* mutate (export only); const access from several threads is safe.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "absl/status/statusor.h"
#include "core/entropy/frequency_table.h"
#include "core/entropy/latent_context.h"
#include "core/model/factorized_prior.h"

namespace mt {

struct CodingTablesOptions {
  int64_t levels = 0;           // S: rate levels
  int64_t channels = 0;         // C: latent channels
  int64_t table_width = 0;      // W: longest factorized CDF (0 = no tables yet)
  int64_t context_buckets = 0;  // B: context magnitude buckets (0 = no context tables)
  int64_t context_width = 0;    // Wc: longest context CDF
  int64_t table_entries = 0;    // N of the ragged cdf_tables (0 = the padded (S, C, W) layout)
  int64_t context_entries = 0;  // N of the ragged ctx_cdf_tables (0 = the padded layout)
};

// Tables laid out as the padded checkpoint buffers hold them (int32 tensors, rows zero-padded to
// the longest table). Plain value types.
struct PackedFactorizedTables {
  at::Tensor cdf, sizes, offsets;  // (S, C, W), (S, C), (S, C)
};
struct PackedContextTables {
  at::Tensor predict, cdf, sizes, offsets;  // (S, C), (S, C, B+1, W), (S, C, B+1), (S, C, B+1)
};

// A padded CDF buffer (sizes' shape plus a last dim W >= every size) → the ragged layout: each row
// cut to its size, rows back to back (int32). A 1-D buffer is returned as it is. TORCH_CHECK on
// shapes that are neither (a programmer error).
at::Tensor RaggedCdf(const at::Tensor& cdf, const at::Tensor& sizes);

// Checkpoint buffers → one LatentTables per level. sizes / offsets (S, C, P), or (S, C) for
// factorized tables (P = 1); cdf ragged (1-D, sum(sizes) entries) or padded (sizes' shape + W);
// predict (S, C), or undefined for factorized tables; buckets = P - 1. FAILED_PRECONDITION naming
// the level and channel when the shapes disagree or a table is malformed (ValidateLatentTables).
absl::StatusOr<std::vector<LatentTables>> UnpackTables(const at::Tensor& cdf, const at::Tensor& sizes,
                                                       const at::Tensor& offsets, const at::Tensor& predict,
                                                       int buckets);

// A prior's per-channel pmfs of one level → integer coding tables (QuantizePmf; TORCH_CHECK if a
// pmf cannot be quantised: the prior is broken).
std::vector<FrequencyTable> QuantizePmfs(const std::vector<ChannelPmf>& pmfs);

// per_level[s][c] (S >= 1 levels × `channels` tables, each passing ValidateTable) → buffers.
// TORCH_CHECK on malformed input (a programmer error: the tables come from our own fit).
PackedFactorizedTables PackFactorizedTables(const std::vector<std::vector<FrequencyTable>>& per_level, int64_t channels);
// One LatentTables per level (`channels` channels, the same buckets >= 1, each valid) → buffers.
PackedContextTables PackContextTables(const std::vector<LatentTables>& per_level, int64_t channels);

class CodingTablesImpl : public torch::nn::Module {
 public:
  explicit CodingTablesImpl(const CodingTablesOptions& options = {});

  // Stores per_level[s][c] (S levels × C channels, each passing ValidateTable).
  void SetFactorized(const std::vector<std::vector<FrequencyTable>>& per_level);
  // Stores context tables, one per level (C channels, same buckets >= 1, each valid).
  void SetContext(const std::vector<LatentTables>& per_level);
  // The tables coders use, one per level: the context tables when stored, else the factorized
  // ones. FAILED_PRECONDITION when there are none (a training checkpoint) or one is malformed
  // (the message names level and channel).
  absl::StatusOr<std::vector<LatentTables>> Tables() const;
  // Rewrites padded CDF buffers (an older checkpoint) in the ragged layout; the tables
  // and their codes stay the same. No-op when already ragged.
  void Compact();

  const CodingTablesOptions& options() const { return options_; }

  at::Tensor cdf_tables, cdf_sizes, cdf_offsets;
  at::Tensor ctx_predict, ctx_cdf_tables, ctx_cdf_sizes, ctx_cdf_offsets;

 private:
  CodingTablesOptions options_;
};
TORCH_MODULE(CodingTables);

}  // namespace mt
