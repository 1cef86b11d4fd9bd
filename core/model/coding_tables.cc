#include "core/model/coding_tables.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace mt {

CodingTablesImpl::CodingTablesImpl(const CodingTablesOptions& o) : options_(o) {
  const int64_t s = o.levels, c = o.channels, b = o.context_buckets > 0 ? o.context_buckets + 1 : 0;
  // The shapes a checkpoint of these options holds, so Load's shape check accepts both layouts.
  cdf_tables = register_buffer("cdf_tables", o.table_entries > 0 ? at::zeros({o.table_entries}, at::kInt)
                                                                  : at::zeros({s, c, o.table_width}, at::kInt));
  cdf_sizes = register_buffer("cdf_sizes", at::zeros({s, c}, at::kInt));
  cdf_offsets = register_buffer("cdf_offsets", at::zeros({s, c}, at::kInt));
  ctx_predict = register_buffer("ctx_predict", at::zeros({s, b > 0 ? c : 0}, at::kInt));
  ctx_cdf_tables = register_buffer("ctx_cdf_tables", o.context_entries > 0
                                                         ? at::zeros({o.context_entries}, at::kInt)
                                                         : at::zeros({s, b > 0 ? c : 0, b, o.context_width}, at::kInt));
  ctx_cdf_sizes = register_buffer("ctx_cdf_sizes", at::zeros({s, b > 0 ? c : 0, b}, at::kInt));
  ctx_cdf_offsets = register_buffer("ctx_cdf_offsets", at::zeros({s, b > 0 ? c : 0, b}, at::kInt));
}

at::Tensor RaggedCdf(const at::Tensor& cdf, const at::Tensor& sizes) {
  if (cdf.dim() == 1) return cdf;
  TORCH_CHECK(cdf.dim() == sizes.dim() + 1 && cdf.sizes().slice(0, sizes.dim()) == sizes.sizes(),
              "RaggedCdf: a padded buffer has the sizes' shape plus one dim, got ", cdf.sizes(), " and ", sizes.sizes());
  const at::Tensor rows = cdf.to(at::kInt).reshape({-1, cdf.size(-1)}).contiguous();
  const at::Tensor n = sizes.to(at::kInt).reshape({-1}).contiguous();
  const int32_t* np = n.data_ptr<int32_t>();
  int64_t total = 0;
  for (int64_t r = 0; r < n.numel(); ++r) {
    TORCH_CHECK(np[r] >= 0 && np[r] <= rows.size(1), "RaggedCdf: row ", r, " has size ", np[r]);
    total += np[r];
  }
  at::Tensor out = at::empty({total}, at::kInt);
  int32_t* dst = out.data_ptr<int32_t>();
  for (int64_t r = 0; r < n.numel(); ++r) {
    dst = std::copy_n(rows[r].data_ptr<int32_t>(), np[r], dst);
  }
  return out;
}

absl::StatusOr<std::vector<LatentTables>> UnpackTables(const at::Tensor& cdf_in, const at::Tensor& sizes_in,
                                                       const at::Tensor& offsets_in, const at::Tensor& predict_in,
                                                       int buckets) {
  const bool factorized = sizes_in.dim() == 2;
  const at::Tensor sizes = (factorized ? sizes_in.unsqueeze(2) : sizes_in).to(at::kInt).contiguous();
  const at::Tensor offsets = (factorized ? offsets_in.unsqueeze(2) : offsets_in).to(at::kInt).contiguous();
  const bool ragged = cdf_in.dim() == 1;
  const at::Tensor cdf = (ragged || !factorized ? cdf_in : cdf_in.unsqueeze(2)).to(at::kInt).contiguous();
  const int64_t per_channel = buckets + 1;
  if (sizes.dim() != 3 || sizes.size(0) < 1 || sizes.size(2) != per_channel || offsets.sizes() != sizes.sizes() ||
      (!ragged && (cdf.dim() != 4 || cdf.sizes().slice(0, 3) != sizes.sizes())) ||
      (predict_in.defined() && (predict_in.dim() != 2 || predict_in.sizes() != sizes.sizes().slice(0, 2))))
    return absl::FailedPreconditionError("the codec's coding tables have inconsistent shapes");
  const int64_t levels = sizes.size(0), channels = sizes.size(1), width = ragged ? cdf.numel() : cdf.size(3);
  const at::Tensor predict = predict_in.defined() ? predict_in.to(at::kInt).contiguous() : at::zeros({levels, channels}, at::kInt);
  const int32_t *sp = sizes.data_ptr<int32_t>(), *op = offsets.data_ptr<int32_t>(), *cp = cdf.data_ptr<int32_t>();
  const int32_t* pp = predict.data_ptr<int32_t>();
  int64_t next = 0;  // ragged: where the next row starts
  std::vector<LatentTables> out;
  for (int64_t s = 0; s < levels; ++s) {
    LatentTables& t = out.emplace_back();
    t.buckets = buckets;
    for (int64_t ch = 0; ch < channels; ++ch) {
      t.predict.push_back(static_cast<uint8_t>(std::clamp<int32_t>(pp[s * channels + ch], 0, 255)));
      std::vector<FrequencyTable>& channel = t.tables.emplace_back();
      for (int64_t b = 0; b < per_channel; ++b) {
        const int64_t row = (s * channels + ch) * per_channel + b, n = sp[row];
        const int64_t start = ragged ? next : row * width;
        if (n < 0 || n > width || (ragged && start + n > width))
          return absl::FailedPreconditionError(absl::StrCat("codec table (level ", s, ", channel ", ch, ") has size ", n));
        next += n;
        FrequencyTable& table = channel.emplace_back();
        table.offset = op[row];
        table.cdf.assign(cp + start, cp + start + n);
      }
    }
    if (absl::Status st = ValidateLatentTables(t); !st.ok())
      return absl::FailedPreconditionError(absl::StrCat("codec tables (level ", s, "): ", st.message()));
  }
  if (ragged && next != cdf.numel())
    return absl::FailedPreconditionError(
        absl::StrCat("the codec's ragged coding tables hold ", cdf.numel(), " entries; their sizes add up to ", next));
  return out;
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
  cdf_tables.set_(RaggedCdf(packed.cdf, packed.sizes));  // set_ keeps the registered buffers, new shapes
  cdf_sizes.set_(packed.sizes);
  cdf_offsets.set_(packed.offsets);
  options_.table_width = packed.cdf.size(2);
  options_.table_entries = cdf_tables.numel();
}

void CodingTablesImpl::SetContext(const std::vector<LatentTables>& per_level) {
  TORCH_CHECK(static_cast<int64_t>(per_level.size()) == options_.levels, "SetContext needs one entry per level");
  PackedContextTables packed = PackContextTables(per_level, options_.channels);
  torch::NoGradGuard no_grad;
  ctx_predict.set_(packed.predict);
  ctx_cdf_tables.set_(RaggedCdf(packed.cdf, packed.sizes));
  ctx_cdf_sizes.set_(packed.sizes);
  ctx_cdf_offsets.set_(packed.offsets);
  options_.context_buckets = per_level[0].buckets;
  options_.context_width = packed.cdf.size(3);
  options_.context_entries = ctx_cdf_tables.numel();
}

void CodingTablesImpl::Compact() {
  torch::NoGradGuard no_grad;
  if (options_.table_width > 0) {
    cdf_tables.set_(RaggedCdf(cdf_tables, cdf_sizes));
    options_.table_entries = cdf_tables.numel();
  }
  if (options_.context_buckets > 0) {
    ctx_cdf_tables.set_(RaggedCdf(ctx_cdf_tables, ctx_cdf_sizes));
    options_.context_entries = ctx_cdf_tables.numel();
  }
}

absl::StatusOr<std::vector<LatentTables>> CodingTablesImpl::Tables() const {
  if (options_.levels <= 0 || options_.table_width <= 0)
    return absl::FailedPreconditionError(
        "the codec checkpoint holds no coding tables (a training checkpoint? run `mt-train export --ckpt_path ... --out ...`)");
  const bool context = options_.context_buckets > 0;
  absl::StatusOr<std::vector<LatentTables>> out =
      context ? UnpackTables(ctx_cdf_tables, ctx_cdf_sizes, ctx_cdf_offsets, ctx_predict,
                             static_cast<int>(options_.context_buckets))
              : UnpackTables(cdf_tables, cdf_sizes, cdf_offsets, at::Tensor(), 0);
  if (out.ok() && (static_cast<int64_t>(out->size()) != options_.levels ||
                   static_cast<int64_t>(out->front().channels()) != options_.channels))
    return absl::FailedPreconditionError("the codec's coding tables have inconsistent shapes");
  return out;
}

}  // namespace mt
