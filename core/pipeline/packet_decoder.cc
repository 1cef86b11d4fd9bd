#include "core/ops/chunked.h"
#include "core/ops/int8_linear.h"
#include "core/pipeline/packet_decoder.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/codec/bitmap.h"
#include "core/codec/tiling.h"
#include "core/io/fingerprint.h"
#include "core/masking/losses.h"
#include "core/masking/patch_selector.h"
#include "core/model/patchify.h"
#include "core/runtime/compute_precision.h"
#include "core/runtime/cpu_runtime.h"
#include "core/runtime/stopwatch.h"

namespace mt {

struct PacketDecoder::Parsed {
  TileGrid grid;
  at::Tensor keep;                   // (N, L) bool
  std::vector<at::Tensor> tokens;    // per tile (1+K, D) float, features payloads
  at::Tensor pixels;                 // (N, L, p·p·3) float in [0,1], zeros where not kept
  at::Tensor latents;                // (N, L, C) dequantised latents, latent payload
};

PacketDecoder::PacketDecoder(MaskedAutoencoder mae, int64_t max_pixels, ComputePrecision compute,
                             std::shared_ptr<const TileCodec> latent)
    : mae_(std::move(mae)), max_pixels_(max_pixels), compute_(compute), latent_(std::move(latent)) {
  mae_->eval();
  fingerprint_ = ModelFingerprint(*mae_);
}

absl::Status PacketDecoder::Validate(const ImagePacket& packet) const { return Parse(packet).status(); }

absl::StatusOr<PacketDecoder::Parsed> PacketDecoder::ParseLatent(const ImagePacket& p) const {
  if (latent_ == nullptr)
    return absl::FailedPreconditionError("payload 'latent': this receiver has no codec (start it with --codec_checkpoint)");
  const TileCodec& coder = *latent_;
  if (p.model_fingerprint != latent_->fingerprint())
    return absl::FailedPreconditionError(absl::StrCat("model_fingerprint '", p.model_fingerprint,
                                                      "' is not the receiver's codec '", latent_->fingerprint(),
                                                      "': both daemons must load the same codec checkpoint (weights and tables)"));
  if (p.tile_size != coder.tile_size() || p.patch_size != coder.patch_size() || p.feature_dim != coder.channels())
    return absl::FailedPreconditionError(absl::StrCat("tile_size ", p.tile_size, " / patch_size ", p.patch_size,
                                                      " / latent channels ", p.feature_dim, ": the receiver's codec needs ",
                                                      coder.tile_size(), " / ", coder.patch_size(), " / ",
                                                      coder.channels()));
  if (absl::Status s = CheckImageSize(p); !s.ok()) return s;
  Parsed r;
  r.grid = *PlanTiles(p.height, p.width, p.tile_size);
  if (!p.tiles.empty())
    return absl::InvalidArgumentError(absl::StrCat("tiles: ", p.tiles.size(),
                                                   " given; payload 'latent' carries every tile in its latent stream"));
  if (absl::Status s = latent_->DecodeTiles(p.latent, r.grid.count(), p.latent_level, &r.keep, &r.latents); !s.ok())
    return s;
  return r;
}

absl::Status PacketDecoder::CheckImageSize(const ImagePacket& p) const {
  if (p.height <= 0 || p.width <= 0)
    return absl::InvalidArgumentError(absl::StrCat("height/width ", p.height, "x", p.width, " must be positive"));
  if (p.height > max_pixels_ / p.width)
    return absl::ResourceExhaustedError(absl::StrCat("image ", p.width, "x", p.height, " exceeds the receiver's ",
                                                     max_pixels_, "-pixel limit"));
  return absl::OkStatus();
}

absl::StatusOr<PacketDecoder::Parsed> PacketDecoder::Parse(const ImagePacket& p) const {
  const MaskedAutoencoderOptions& o = mae_->options();
  if (absl::Status s = ValidateImageId(p.id); !s.ok()) return s;
  if (CarriesLatents(p.payload)) return ParseLatent(p);
  if (p.model_fingerprint != fingerprint_)
    return absl::FailedPreconditionError(absl::StrCat("model_fingerprint '", p.model_fingerprint,
                                                      "' is not the receiver's model '", fingerprint_,
                                                      "': both daemons must load the same MAE checkpoint"));
  if (p.tile_size != o.img_size || p.patch_size != o.patch_size)
    return absl::FailedPreconditionError(absl::StrCat("tile_size ", p.tile_size, " / patch_size ", p.patch_size,
                                                      ": the receiver's model needs ", o.img_size, " / ",
                                                      o.patch_size));
  if (CarriesFeatures(p.payload) && p.feature_dim != o.decoder_embed_dim)
    return absl::FailedPreconditionError(absl::StrCat("feature_dim ", p.feature_dim,
                                                      ": the receiver's decoder takes ", o.decoder_embed_dim));
  if (absl::Status s = CheckImageSize(p); !s.ok()) return s;
  if (!p.latent.empty()) return absl::InvalidArgumentError("latent: given, but only payload 'latent' carries one");
  Parsed r;
  r.grid = *PlanTiles(p.height, p.width, p.tile_size);
  if (static_cast<int64_t>(p.tiles.size()) != r.grid.count())
    return absl::InvalidArgumentError(absl::StrCat("tiles: ", p.tiles.size(), " given; a ", p.width, "x", p.height,
                                                   " image in ", p.tile_size, "-pixel tiles needs ", r.grid.count()));
  const int64_t l = o.num_patches(), patch_bytes = o.patch_size * o.patch_size * 3;
  std::vector<at::Tensor> keeps;
  if (CarriesPixels(p.payload)) r.pixels = at::zeros({r.grid.count(), l, patch_bytes}, at::kFloat);
  for (int64_t i = 0; i < r.grid.count(); ++i) {
    const TilePayload& t = p.tiles[static_cast<size_t>(i)];
    auto field = [&](const absl::Status& s) {
      return absl::Status(s.code(), absl::StrCat("tiles[", i, "].", s.message()));
    };
    absl::StatusOr<at::Tensor> keep = UnpackBitmap(t.keep_bitmap, l);
    if (!keep.ok()) return field(keep.status());
    keeps.push_back(*keep);
    const int64_t k = keep->sum().item<int64_t>();
    if (CarriesFeatures(p.payload)) {
      absl::StatusOr<at::Tensor> tokens = DecodeTokens(t.features, t.feature_scales, 1 + k, p.feature_dim, p.precision);
      if (!tokens.ok()) return field(tokens.status());
      r.tokens.push_back(*tokens);
    } else if (!t.features.empty() || !t.feature_scales.empty()) {
      return field(absl::InvalidArgumentError("features: given, but payload 'pixels' carries none"));
    }
    if (CarriesPixels(p.payload)) {
      if (static_cast<int64_t>(t.pixels.size()) != k * patch_bytes)
        return field(absl::InvalidArgumentError(absl::StrCat("pixels has ", t.pixels.size(), " bytes; ", k,
                                                             " kept patches need ", k * patch_bytes)));
      at::Tensor px = at::empty({k, patch_bytes}, at::kByte);
      if (k > 0) std::memcpy(px.data_ptr(), t.pixels.data(), t.pixels.size());
      r.pixels[i].index_copy_(0, KeptIndices(*keep), px.to(at::kFloat).div_(255.0));
    } else if (!t.pixels.empty()) {
      return field(absl::InvalidArgumentError("pixels: given, but payload 'features' carries none"));
    }
  }
  r.keep = at::stack(keeps);
  return r;
}

absl::StatusOr<DecodedImage> PacketDecoder::Decode(const ImagePacket& packet) const {
  return std::move(DecodeBatch({&packet})[0]);
}

namespace {

// Thrown between stages and model slices once the caller has abandoned the batch (caught in DecodeBatch).
struct BatchAbandoned {
  const char* when;
};

// Decoder inputs of tiles encoded in groups, run through the MAE decoder in forwards of about
// kDecoderRows tiles; each tile's prediction lands in pred[row]. Not thread-safe.
class DecoderQueue {
 public:
  static constexpr int64_t kDecoderRows = 128;  // tiles per decoder forward (mt_bench_chunking: the encoder is fastest at 128)
  DecoderQueue(MaskedAutoencoder& mae, at::Tensor& pred, const std::function<void(const char*)>& check)
      : mae_(mae), pred_(pred), check_(check) {}
  // cls (m, 1, D_dec), grid (m, L, D_dec) for batch rows `rows` (m of them).
  void Add(const at::Tensor& cls, const at::Tensor& grid, const std::vector<int64_t>& rows) {
    cls_.push_back(cls);
    grid_.push_back(grid);
    rows_.insert(rows_.end(), rows.begin(), rows.end());
    if (static_cast<int64_t>(rows_.size()) >= kDecoderRows) Flush();
  }
  void Flush() {
    if (rows_.empty()) return;
    const at::Tensor decoded = ForwardInChunks(kDecoderRows, [&](const at::Tensor& c, const at::Tensor& t) {
      check_("during the MAE decoder");
      return mae_->Decode(c, t).to(pred_.scalar_type());
    }, at::cat(cls_), at::cat(grid_));
    pred_.index_copy_(0, at::tensor(rows_, at::kLong), decoded);
    cls_.clear();
    grid_.clear();
    rows_.clear();
  }

 private:
  MaskedAutoencoder& mae_;
  at::Tensor& pred_;
  const std::function<void(const char*)>& check_;
  std::vector<at::Tensor> cls_, grid_;
  std::vector<int64_t> rows_;
};

}  // namespace

// The valid packets of a batch, parsed, and where their tiles sit in it.
struct PacketDecoder::ParsedBatch {
  std::vector<size_t> valid;  // indices into the caller's packets
  std::vector<Parsed> parsed;
  std::vector<int64_t> first;  // first batch row of parsed[j]'s tiles
  int64_t n = 0;               // tiles in all
};

std::vector<absl::StatusOr<DecodedImage>> PacketDecoder::DecodeBatch(const std::vector<const ImagePacket*>& packets,
                                                                     const std::function<bool()>& abandoned) const {
  ApplyIntraOpThreadsToThisThread();  // daemons call this from worker threads
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<absl::StatusOr<DecodedImage>> results(packets.size(), absl::UnknownError("not decoded"));
  auto check = [&](const char* when) {
    if (abandoned && abandoned()) throw BatchAbandoned{when};
  };
  ParsedBatch batch;
  // Latent packets of a codec that codes every position on its own tiles: not the MAE batch.
  std::vector<size_t> own_tiles;
  std::vector<Parsed> own_parsed;
  try {
    for (size_t i = 0; i < packets.size(); ++i) {
      absl::StatusOr<Parsed> p = Parse(*packets[i]);
      if (!p.ok()) {
        results[i] = p.status();
        continue;
      }
      if (p->latents.defined() && !latent_->selects_positions()) {
        own_tiles.push_back(i);
        own_parsed.push_back(*std::move(p));
        continue;
      }
      batch.valid.push_back(i);
      batch.first.push_back(batch.n);
      batch.n += p->grid.count();
      batch.parsed.push_back(*std::move(p));
    }
    if (!own_tiles.empty()) DecodeOwnTiles(own_tiles, own_parsed, check, t0, results);
    if (batch.valid.empty()) return results;
    DecodeParsed(packets, batch, check, results);
  } catch (const BatchAbandoned& a) {
    for (absl::StatusOr<DecodedImage>& r : results)
      if (r.ok() || r.status().code() == absl::StatusCode::kUnknown)
        r = absl::CancelledError(absl::StrCat("decoding stopped ", a.when, ": no packet of the batch is still awaited"));
    return results;
  }
  const double ms = MsSince(t0);
  for (size_t i : batch.valid) {
    results[i]->decode_ms = ms;
    results[i]->batch_images = static_cast<int>(batch.valid.size());
  }
  return results;
}

void PacketDecoder::DecodeOwnTiles(const std::vector<size_t>& index, const std::vector<Parsed>& parsed,
                               const std::function<void(const char*)>& check, std::chrono::steady_clock::time_point t0,
                               std::vector<absl::StatusOr<DecodedImage>>& results) const {
  check("before the codec's synthesis");
  // One synthesis for all of them, so small photos share its forwards. Each packet's pixels are
  // what it gets alone: each tile's region covers its content plus the transforms' receptive
  // fields (TileCodec::Reconstruct).
  std::vector<at::Tensor> latents, keeps;
  for (const Parsed& p : parsed) {
    latents.push_back(p.latents);
    keeps.push_back(p.keep);
  }
  const at::Tensor tiles = latent_->Reconstruct(at::cat(latents), at::cat(keeps));
  int64_t first = 0;
  for (size_t j = 0; j < parsed.size(); ++j) {
    const int64_t count = parsed[j].grid.count();
    DecodedImage out;
    out.image = StitchTiles(tiles.narrow(0, first, count).contiguous(), parsed[j].grid);
    first += count;
    out.keep = parsed[j].keep;
    out.kept = out.keep.sum().item<int64_t>();
    out.decode_ms = MsSince(t0);
    out.batch_images = static_cast<int>(parsed.size());
    results[index[j]] = std::move(out);
  }
}

void PacketDecoder::DecodeParsed(const std::vector<const ImagePacket*>& packets, ParsedBatch& batch,
                                 const std::function<void(const char*)>& check,
                                 std::vector<absl::StatusOr<DecodedImage>>& results) const {
  const MaskedAutoencoderOptions& o = mae_->options();
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> keep_parts;
  for (const Parsed& p : batch.parsed) keep_parts.push_back(p.keep);
  const at::Tensor keep = at::cat(keep_parts);  // (n, L) over the whole batch
  at::Tensor pred = at::zeros({batch.n, o.num_patches(), o.patch_dim()});
  DecodeFeatures(packets, batch, keep, check, pred);
  std::vector<int64_t> latent_rows;
  const at::Tensor latent_tiles = DecodeLatents(batch, keep, check, &latent_rows);
  const std::vector<at::Tensor> pixel_tiles = DecodePixels(packets, batch, keep, check, pred);

  at::Tensor tiles = mae_->PatchesToImages(pred).clamp(0.0, 1.0);
  if (latent_tiles.defined()) tiles.index_copy_(0, at::tensor(latent_rows, at::kLong), latent_tiles);
  const int64_t g = o.grid_size();
  for (size_t j = 0; j < batch.parsed.size(); ++j) {
    const Parsed& parsed = batch.parsed[j];
    at::Tensor mine = tiles.narrow(0, batch.first[j], parsed.grid.count());
    // features+pixels: kept pixels go back in place of the decoder's guess.
    if (parsed.pixels.defined()) {
      at::Tensor px = pixel_tiles[j].defined() ? pixel_tiles[j] : Unpatchify(parsed.pixels, o.patch_size, g, g);
      mine = CompositeImage(px, mine, parsed.keep.to(at::kFloat), o.patch_size);
    }
    DecodedImage out;
    out.image = StitchTiles(mine.contiguous(), parsed.grid);
    out.keep = parsed.keep;
    out.kept = out.keep.sum().item<int64_t>();
    results[batch.valid[j]] = std::move(out);
  }
}

void PacketDecoder::DecodeFeatures(const std::vector<const ImagePacket*>& packets, const ParsedBatch& batch,
                                   const at::Tensor& keep, const std::function<void(const char*)>& check,
                                   at::Tensor& pred) const {
  const MaskedAutoencoderOptions& o = mae_->options();
  const int64_t l = o.num_patches(), d = o.decoder_embed_dim;
  const std::vector<Parsed>& parsed = batch.parsed;
  std::vector<int64_t> feature_tiles;
  for (size_t j = 0; j < parsed.size(); ++j)
    if (CarriesFeatures(packets[batch.valid[j]]->payload))
      for (int64_t t = 0; t < parsed[j].grid.count(); ++t) feature_tiles.push_back(batch.first[j] + t);
  if (feature_tiles.empty()) return;
  const auto m = static_cast<int64_t>(feature_tiles.size());
  at::Tensor cls = at::empty({m, 1, d}), grid_tokens = at::zeros({m, l, d});
  int64_t row = 0;
  for (size_t j = 0; j < parsed.size(); ++j) {
    if (!CarriesFeatures(packets[batch.valid[j]]->payload)) continue;
    for (size_t t = 0; t < parsed[j].tokens.size(); ++t, ++row) {
      const at::Tensor& tok = parsed[j].tokens[t];
      cls[row][0].copy_(tok[0]);
      grid_tokens[row].index_copy_(0, KeptIndices(parsed[j].keep[static_cast<int64_t>(t)]),
                                   tok.narrow(0, 1, tok.size(0) - 1));
    }
  }
  const at::Tensor idx = at::tensor(feature_tiles, at::kLong);
  ComputePrecisionScope precision(compute_);
  const at::Tensor decoded = ForwardInChunks(kForwardChunkRows, [&](const at::Tensor& c, const at::Tensor& t, const at::Tensor& k) {
    check("during the MAE decoder");
    return mae_->Decode(c, mae_->ApplyKeepMask(t, k)).to(pred.scalar_type());
  }, cls, grid_tokens, keep.index_select(0, idx));
  pred.index_copy_(0, idx, decoded);
}

at::Tensor PacketDecoder::DecodeLatents(const ParsedBatch& batch, const at::Tensor& keep,
                                        const std::function<void(const char*)>& check,
                                        std::vector<int64_t>* rows) const {
  std::vector<at::Tensor> latent_parts;
  for (size_t j = 0; j < batch.parsed.size(); ++j)
    if (batch.parsed[j].latents.defined()) {
      latent_parts.push_back(batch.parsed[j].latents);
      for (int64_t t = 0; t < batch.parsed[j].grid.count(); ++t) rows->push_back(batch.first[j] + t);
    }
  if (latent_parts.empty()) return at::Tensor();
  check("before the latent codec's decoder");
  const at::Tensor idx = at::tensor(*rows, at::kLong);
  return latent_->Reconstruct(at::cat(latent_parts), keep.index_select(0, idx));
}

// The receiver re-encodes visible patches. Visible-only encoding needs equal K across a forward,
// so tiles (of any packet) that keep as many are encoded together; their decoder inputs (mask
// tokens where not kept) then gather across K into decoder forwards of DecoderQueue::kDecoderRows
// tiles. Why: a 512x512 photo's 256 tiles hold ~30 distinct K, and the decoder (most of the work)
// ran as ~30 forwards of a few tiles each.
std::vector<at::Tensor> PacketDecoder::DecodePixels(const std::vector<const ImagePacket*>& packets,
                                                    const ParsedBatch& batch, const at::Tensor& keep,
                                                    const std::function<void(const char*)>& check,
                                                    at::Tensor& pred) const {
  const MaskedAutoencoderOptions& o = mae_->options();
  const int64_t g = o.grid_size();
  const std::vector<Parsed>& parsed = batch.parsed;
  std::vector<at::Tensor> pixel_tiles(parsed.size());
  std::map<int64_t, std::vector<int64_t>> by_count;  // K → batch tile rows
  std::vector<at::Tensor> pixel_parts;
  std::vector<int64_t> pixel_rows;
  for (size_t j = 0; j < parsed.size(); ++j) {
    const PayloadKind payload = packets[batch.valid[j]]->payload;
    if (!CarriesPixels(payload) || CarriesFeatures(payload)) continue;
    pixel_tiles[j] = Unpatchify(parsed[j].pixels, o.patch_size, g, g);
    for (int64_t t = 0; t < parsed[j].grid.count(); ++t) {
      by_count[parsed[j].keep[t].sum().item<int64_t>()].push_back(static_cast<int64_t>(pixel_rows.size()));
      pixel_rows.push_back(batch.first[j] + t);
      pixel_parts.push_back(pixel_tiles[j][t]);
    }
  }
  if (pixel_parts.empty()) return pixel_tiles;
  const at::Tensor all = at::stack(pixel_parts);
  ComputePrecisionScope precision(compute_);
  DecoderQueue queue{mae_, pred, check};
  for (const auto& [k, members] : by_count) {
    std::vector<int64_t> rows;
    std::vector<at::Tensor> ids;
    for (int64_t m : members) {
      rows.push_back(pixel_rows[static_cast<size_t>(m)]);
      ids.push_back(KeptIndices(keep[rows.back()]));
    }
    const at::Tensor kept = at::stack(ids);
    const at::Tensor latent = ForwardInChunks(kForwardChunkRows, [&](const at::Tensor& x, const at::Tensor& i) {
      check("during the MAE encoder");
      // fp32 even under --compute int8: these are small forwards of many distinct shapes, where
      // the int8 linears measured slower than fp32 (baboon: receiver 660-820 against 440-510 ms).
      Int8LinearScope fp32_linears(false);
      return mae_->EmbedForDecoder(mae_->EncodeVisible(x, i));
    }, all.index_select(0, at::tensor(members, at::kLong)), kept);
    queue.Add(latent.narrow(1, 0, 1), mae_->ScatterToGrid(latent.narrow(1, 1, k), kept), rows);
  }
  queue.Flush();
  return pixel_tiles;
}

}  // namespace mt
