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

void CodingTablesImpl::SetFactorized(const std::vector<std::vector<FrequencyTable>>& per_level) {
  const int64_t s = options_.levels, c = options_.channels;
  TORCH_CHECK(static_cast<int64_t>(per_level.size()) == s, "SetFactorized needs one entry per level");
  int64_t width = 0;
  for (const auto& level : per_level) {
    TORCH_CHECK(static_cast<int64_t>(level.size()) == c, "SetFactorized needs one table per channel");
    for (const FrequencyTable& t : level) {
      TORCH_CHECK(ValidateTable(t).ok(), "SetFactorized: malformed table");
      width = std::max<int64_t>(width, static_cast<int64_t>(t.cdf.size()));
    }
  }
  at::Tensor cdf = at::zeros({s, c, width}, at::kInt), sizes = at::zeros({s, c}, at::kInt);
  at::Tensor offsets = at::zeros({s, c}, at::kInt);
  auto cp = cdf.accessor<int32_t, 3>();
  auto sp = sizes.accessor<int32_t, 2>(), op = offsets.accessor<int32_t, 2>();
  for (int64_t i = 0; i < s; ++i)
    for (int64_t ch = 0; ch < c; ++ch) {
      const FrequencyTable& t = per_level[static_cast<size_t>(i)][static_cast<size_t>(ch)];
      for (size_t k = 0; k < t.cdf.size(); ++k) cp[i][ch][static_cast<int64_t>(k)] = static_cast<int32_t>(t.cdf[k]);
      sp[i][ch] = static_cast<int32_t>(t.cdf.size());
      op[i][ch] = t.offset;
    }
  torch::NoGradGuard no_grad;
  cdf_tables.set_(cdf);  // set_ keeps the registered buffers while changing their shapes
  cdf_sizes.set_(sizes);
  cdf_offsets.set_(offsets);
  options_.table_width = width;
}

void CodingTablesImpl::SetContext(const std::vector<LatentTables>& per_level) {
  const int64_t s = options_.levels, c = options_.channels;
  TORCH_CHECK(s > 0 && static_cast<int64_t>(per_level.size()) == s, "SetContext needs one entry per level");
  const int buckets = per_level[0].buckets;
  TORCH_CHECK(buckets >= 1, "SetContext needs buckets >= 1");
  int64_t width = 0;
  for (const LatentTables& t : per_level) {
    TORCH_CHECK(ValidateLatentTables(t).ok() && t.buckets == buckets && static_cast<int64_t>(t.channels()) == c,
                "SetContext: malformed tables");
    for (const auto& channel : t.tables)
      for (const FrequencyTable& table : channel) width = std::max<int64_t>(width, static_cast<int64_t>(table.cdf.size()));
  }
  const int64_t per_channel = buckets + 1;
  at::Tensor predict = at::zeros({s, c}, at::kInt), cdf = at::zeros({s, c, per_channel, width}, at::kInt);
  at::Tensor sizes = at::zeros({s, c, per_channel}, at::kInt), offsets = at::zeros({s, c, per_channel}, at::kInt);
  auto pp = predict.accessor<int32_t, 2>();
  auto cp = cdf.accessor<int32_t, 4>();
  auto sp = sizes.accessor<int32_t, 3>(), op = offsets.accessor<int32_t, 3>();
  for (int64_t i = 0; i < s; ++i)
    for (int64_t ch = 0; ch < c; ++ch) {
      const LatentTables& level = per_level[static_cast<size_t>(i)];
      pp[i][ch] = level.predict[static_cast<size_t>(ch)];
      for (int64_t b = 0; b < per_channel; ++b) {
        const FrequencyTable& t = level.tables[static_cast<size_t>(ch)][static_cast<size_t>(b)];
        for (size_t k = 0; k < t.cdf.size(); ++k) cp[i][ch][b][static_cast<int64_t>(k)] = static_cast<int32_t>(t.cdf[k]);
        sp[i][ch][b] = static_cast<int32_t>(t.cdf.size());
        op[i][ch][b] = t.offset;
      }
    }
  torch::NoGradGuard no_grad;
  ctx_predict.set_(predict);
  ctx_cdf_tables.set_(cdf);
  ctx_cdf_sizes.set_(sizes);
  ctx_cdf_offsets.set_(offsets);
  options_.context_buckets = buckets;
  options_.context_width = width;
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
