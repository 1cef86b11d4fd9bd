#include "core/model/coding_tables.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace mt {

CodingTablesImpl::CodingTablesImpl(const CodingTablesOptions& o) : options_(o) {
  const int64_t s = o.levels, c = o.channels, b = o.context_buckets > 0 ? o.context_buckets + 1 : 0;
  cdf_tables = register_buffer("cdf_tables", at::zeros({s, c, o.table_width}, at::kInt));
  cdf_sizes = register_buffer("cdf_sizes", at::zeros({s, c}, at::kInt));
  cdf_offsets = register_buffer("cdf_offsets", at::zeros({s, c}, at::kInt));
  ctx_predict = register_buffer("ctx_predict", at::zeros({s, b > 0 ? c : 0}, at::kInt));
  ctx_cdf_tables = register_buffer("ctx_cdf_tables", at::zeros({s, b > 0 ? c : 0, b, o.context_width}, at::kInt));
  ctx_cdf_sizes = register_buffer("ctx_cdf_sizes", at::zeros({s, b > 0 ? c : 0, b}, at::kInt));
  ctx_cdf_offsets = register_buffer("ctx_cdf_offsets", at::zeros({s, b > 0 ? c : 0, b}, at::kInt));
}

std::vector<FrequencyTable> QuantizePmfs(const std::vector<ChannelPmf>& pmfs) {
  std::vector<FrequencyTable> out;
  for (const ChannelPmf& pmf : pmfs) {
    absl::StatusOr<FrequencyTable> t = QuantizePmf(pmf.pmf, pmf.offset);
    TORCH_CHECK(t.ok(), "cannot quantise a learned pmf: ", t.status().ToString());
    out.push_back(*std::move(t));
  }
  return out;
}

PackedFactorizedTables PackFactorizedTables(const std::vector<std::vector<FrequencyTable>>& per_level,
                                            int64_t channels) {
  const auto s = static_cast<int64_t>(per_level.size());
  TORCH_CHECK(s > 0, "PackFactorizedTables needs at least one level");
  int64_t width = 0;
  for (const auto& level : per_level) {
    TORCH_CHECK(static_cast<int64_t>(level.size()) == channels, "PackFactorizedTables needs one table per channel");
    for (const FrequencyTable& t : level) {
      TORCH_CHECK(ValidateTable(t).ok(), "PackFactorizedTables: malformed table");
      width = std::max<int64_t>(width, static_cast<int64_t>(t.cdf.size()));
    }
  }
  PackedFactorizedTables out{at::zeros({s, channels, width}, at::kInt), at::zeros({s, channels}, at::kInt),
                             at::zeros({s, channels}, at::kInt)};
  auto cp = out.cdf.accessor<int32_t, 3>();
  auto sp = out.sizes.accessor<int32_t, 2>(), op = out.offsets.accessor<int32_t, 2>();
  for (int64_t i = 0; i < s; ++i)
    for (int64_t ch = 0; ch < channels; ++ch) {
      const FrequencyTable& t = per_level[static_cast<size_t>(i)][static_cast<size_t>(ch)];
      for (size_t k = 0; k < t.cdf.size(); ++k) cp[i][ch][static_cast<int64_t>(k)] = static_cast<int32_t>(t.cdf[k]);
      sp[i][ch] = static_cast<int32_t>(t.cdf.size());
      op[i][ch] = t.offset;
    }
  return out;
}

PackedContextTables PackContextTables(const std::vector<LatentTables>& per_level, int64_t channels) {
  const auto s = static_cast<int64_t>(per_level.size());
  TORCH_CHECK(s > 0, "PackContextTables needs at least one level");
  const int buckets = per_level[0].buckets;
  TORCH_CHECK(buckets >= 1, "PackContextTables needs buckets >= 1");
  int64_t width = 0;
  for (const LatentTables& t : per_level) {
    TORCH_CHECK(ValidateLatentTables(t).ok() && t.buckets == buckets && static_cast<int64_t>(t.channels()) == channels,
                "PackContextTables: malformed tables");
    for (const auto& channel : t.tables)
      for (const FrequencyTable& table : channel) width = std::max<int64_t>(width, static_cast<int64_t>(table.cdf.size()));
  }
  const int64_t per_channel = buckets + 1;
  PackedContextTables out{at::zeros({s, channels}, at::kInt), at::zeros({s, channels, per_channel, width}, at::kInt),
                          at::zeros({s, channels, per_channel}, at::kInt), at::zeros({s, channels, per_channel}, at::kInt)};
  auto pp = out.predict.accessor<int32_t, 2>();
  auto cp = out.cdf.accessor<int32_t, 4>();
  auto sp = out.sizes.accessor<int32_t, 3>(), op = out.offsets.accessor<int32_t, 3>();
  for (int64_t i = 0; i < s; ++i)
    for (int64_t ch = 0; ch < channels; ++ch) {
      const LatentTables& level = per_level[static_cast<size_t>(i)];
      pp[i][ch] = level.predict[static_cast<size_t>(ch)];
      for (int64_t b = 0; b < per_channel; ++b) {
        const FrequencyTable& t = level.tables[static_cast<size_t>(ch)][static_cast<size_t>(b)];
        for (size_t k = 0; k < t.cdf.size(); ++k) cp[i][ch][b][static_cast<int64_t>(k)] = static_cast<int32_t>(t.cdf[k]);
        sp[i][ch][b] = static_cast<int32_t>(t.cdf.size());
        op[i][ch][b] = t.offset;
      }
    }
  return out;
}

void CodingTablesImpl::SetFactorized(const std::vector<std::vector<FrequencyTable>>& per_level) {
  TORCH_CHECK(static_cast<int64_t>(per_level.size()) == options_.levels, "SetFactorized needs one entry per level");
  PackedFactorizedTables packed = PackFactorizedTables(per_level, options_.channels);
  torch::NoGradGuard no_grad;
  cdf_tables.set_(packed.cdf);  // set_ keeps the registered buffers while changing their shapes
  cdf_sizes.set_(packed.sizes);
  cdf_offsets.set_(packed.offsets);
  options_.table_width = packed.cdf.size(2);
}

void CodingTablesImpl::SetContext(const std::vector<LatentTables>& per_level) {
  TORCH_CHECK(static_cast<int64_t>(per_level.size()) == options_.levels, "SetContext needs one entry per level");
  PackedContextTables packed = PackContextTables(per_level, options_.channels);
  torch::NoGradGuard no_grad;
  ctx_predict.set_(packed.predict);
  ctx_cdf_tables.set_(packed.cdf);
  ctx_cdf_sizes.set_(packed.sizes);
  ctx_cdf_offsets.set_(packed.offsets);
  options_.context_buckets = per_level[0].buckets;
  options_.context_width = packed.cdf.size(3);
}

namespace {

// Row `n` entries of a CDF buffer row as a table; the caller validates it.
FrequencyTable RowTable(const int32_t* row, int64_t n, int32_t offset) {
  FrequencyTable t;
  t.offset = offset;
  for (int64_t k = 0; k < n; ++k) t.cdf.push_back(static_cast<uint32_t>(row[k]));
  return t;
}

}  // namespace

absl::StatusOr<std::vector<LatentTables>> CodingTablesImpl::Tables() const {
  const int64_t s = options_.levels, c = options_.channels;
  if (s <= 0 || options_.table_width <= 0)
    return absl::FailedPreconditionError(
        "the codec checkpoint holds no coding tables (a training checkpoint? run `mt-train export --ckpt_path ... --out ...`)");
  const bool context = options_.context_buckets > 0;
  const int64_t per_channel = context ? options_.context_buckets + 1 : 1;
  at::Tensor cdf = (context ? ctx_cdf_tables : cdf_tables.unsqueeze(2)).to(at::kInt).contiguous();
  at::Tensor sizes = (context ? ctx_cdf_sizes : cdf_sizes.unsqueeze(2)).to(at::kInt).contiguous();
  at::Tensor offsets = (context ? ctx_cdf_offsets : cdf_offsets.unsqueeze(2)).to(at::kInt).contiguous();
  if (cdf.dim() != 4 || cdf.size(0) != s || cdf.size(1) != c || cdf.size(2) != per_channel ||
      sizes.sizes() != cdf.sizes().slice(0, 3) || offsets.sizes() != sizes.sizes() ||
      (context && (ctx_predict.dim() != 2 || ctx_predict.size(0) != s || ctx_predict.size(1) != c)))
    return absl::FailedPreconditionError("the codec's coding tables have inconsistent shapes");
  const int64_t width = cdf.size(3);
  at::Tensor predict = context ? ctx_predict.to(at::kInt).contiguous() : at::zeros({s, c}, at::kInt);
  std::vector<LatentTables> out;
  for (int64_t i = 0; i < s; ++i) {
    LatentTables& t = out.emplace_back();
    t.buckets = context ? static_cast<int>(options_.context_buckets) : 0;
    for (int64_t ch = 0; ch < c; ++ch) {
      t.predict.push_back(static_cast<uint8_t>(std::clamp<int32_t>(predict[i][ch].item<int32_t>(), 0, 255)));
      std::vector<FrequencyTable>& channel = t.tables.emplace_back();
      for (int64_t b = 0; b < per_channel; ++b) {
        const int64_t n = sizes[i][ch][b].item<int32_t>();
        if (n < 0 || n > width)
          return absl::FailedPreconditionError(absl::StrCat("codec table (level ", i, ", channel ", ch, ") has size ", n));
        channel.push_back(RowTable(cdf[i][ch][b].data_ptr<int32_t>(), n, offsets[i][ch][b].item<int32_t>()));
      }
    }
    if (absl::Status st = ValidateLatentTables(t); !st.ok())
      return absl::FailedPreconditionError(absl::StrCat("codec tables (level ", i, "): ", st.message()));
  }
  return out;
}

}  // namespace mt
