#include "server/receiver/receiver_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "core/io/image_store.h"
#include "core/io/image_io.h"
#include "core/pipeline/request_cost.h"
#include "core/runtime/stopwatch.h"
#include "server/common/content_key.h"
#include "server/common/packet_proto.h"
#include "server/common/security.h"
#include "server/common/status_convert.h"

namespace mt::server {
namespace {

std::unique_ptr<ImageStore> OpenStore(const ReceiverConfig& c) {
  absl::StatusOr<std::unique_ptr<ImageStore>> store = ImageStore::Open({c.output_dir, c.overwrite});
  // The daemon checks the folder before it starts the service; here it is a programmer error.
  if (!store.ok()) throw std::runtime_error(std::string(store.status().message()));
  return *std::move(store);
}

}  // namespace

ReceiverService::ReceiverService(std::shared_ptr<const PacketDecoder> decoder, ReceiverConfig config,
                                 std::shared_ptr<DaemonMetrics> metrics)
    : decoder_(std::move(decoder)),
      config_(std::move(config)),
      metrics_(metrics ? std::move(metrics) : *DaemonMetrics::Create("receiver", "")),
      token_(config_.token),
      store_(OpenStore(config_)),
      batcher_(config_.batching, [this](std::vector<QueuedPacket>& batch) { return DecodeLive(batch); }) {
  metrics_->SetQueueProbe([this] { return static_cast<double>(batcher_.QueuedWeight()); });
  // A receiver killed mid-write leaves a temp file (never a partial <id>.png): Open cleared them.
  if (const int stale = store_->removed_temp_files(); stale > 0)
    spdlog::warn("removed {} temp file(s) left in {} by an interrupted write", stale, config_.output_dir);
}

v1::Ack ReceiverService::Handle(const v1::Packet& proto) const { return Store(DecodeBatch({proto})[0]); }

absl::Status ReceiverService::Admit(const v1::Packet& p) const {
  if (config_.max_request_gflop <= 0) return absl::OkStatus();
  absl::StatusOr<PayloadKind> payload = FromProto(p.payload(), PayloadKind::kFeatures, "payload");
  if (!payload.ok() || p.height() <= 0 || p.width() <= 0) return absl::OkStatus();  // the decoder says why
  return CheckCostBudget(ReceiverCost(decoder_->mae_options(), decoder_->tile_codec(), *payload, p.height(), p.width()),
                         config_.max_request_gflop, absl::StrCat("packet '", p.id(), "'"));
}

std::vector<DecodedPacket> ReceiverService::DecodeLive(std::vector<QueuedPacket>& batch) const {
  const auto start = std::chrono::steady_clock::now();
  std::vector<DecodedPacket> out(batch.size());
  // Why the sender no longer waits for batch[i] at `now` (OK: it still does). Reads only the
  // packet's id and wait, which stay in `batch` after the packet itself moves on to decoding.
  std::vector<std::pair<std::string, int64_t>> heads;  // id, ack_wait_ms
  for (const QueuedPacket& q : batch) heads.emplace_back(q.packet.id(), q.packet.ack_wait_ms());
  auto given_up = [&](size_t i, std::chrono::steady_clock::time_point now, const char* when) {
    const QueuedPacket& q = batch[i];
    const auto& [id, wait_ms] = heads[i];
    if (*q.cancelled) return absl::CancelledError(absl::StrCat("packet '", id, "' was cancelled by its sender ", when));
    if (now < q.give_up) return absl::OkStatus();
    const double late_ms = std::chrono::duration<double, std::milli>(now - q.give_up).count();
    return absl::DeadlineExceededError(absl::StrCat("packet '", id, "' waited in the receiver past its sender's deadline (",
                                                    wait_ms, " ms, over by ", static_cast<int64_t>(late_ms), " ms) ", when));
  };
  std::vector<v1::Packet> live;
  std::vector<size_t> index;  // live[j] is batch[index[j]]
  for (size_t i = 0; i < batch.size(); ++i) {
    // Decoding what nobody awaits would only delay the packets that still are.
    if (absl::Status gone = given_up(i, start, "in its queue: not decoded"); !gone.ok()) {
      out[i].failure = AckFromStatus(batch[i].packet.id(), gone);
      spdlog::warn("{}", out[i].failure.message());
      continue;
    }
    live.push_back(std::move(batch[i].packet));
    index.push_back(i);
  }
  // Between model slices: stop once every live packet is given up (a 12 MP photo whose client
  // cancelled stops within a slice instead of decoding for seconds more).
  auto abandoned = [&] {
    const auto now = std::chrono::steady_clock::now();
    for (size_t i : index)
      if (given_up(i, now, "").ok()) return false;
    return true;
  };
  std::vector<DecodedPacket> decoded = DecodeBatch(std::move(live), abandoned);
  for (size_t j = 0; j < index.size(); ++j) {
    const size_t i = index[j];
    out[i] = std::move(decoded[j]);
    if (out[i].failure.code() == static_cast<int>(absl::StatusCode::kCancelled)) {  // stopped: say why
      absl::Status why = given_up(i, std::chrono::steady_clock::now(), "while it was decoding: stopped");
      if (!why.ok()) out[i].failure = AckFromStatus(heads[i].first, why);
    }
  }
  for (size_t i = 0; i < batch.size(); ++i)
    out[i].queue_ms = std::chrono::duration<double, std::milli>(start - batch[i].arrived).count();
  return out;
}

std::vector<DecodedPacket> ReceiverService::DecodeBatch(std::vector<v1::Packet> protos,
                                                                   const std::function<bool()>& abandoned) const {
  std::vector<DecodedPacket> out(protos.size());
  std::vector<size_t> index;  // packets[j] is protos[index[j]]
  std::vector<const ImagePacket*> batch;
  for (size_t i = 0; i < protos.size(); ++i) {
    out[i].want_reconstruction = protos[i].want_reconstruction();
    out[i].attempt = protos[i].attempt();
    out[i].content_key = PacketContentKey(protos[i]);
    absl::StatusOr<ImagePacket> packet = FromProto(protos[i]);
    if (!packet.ok()) {
      out[i].failure = AckFromStatus(protos[i].id(), packet.status());
      continue;
    }
    out[i].packet = *std::move(packet);
    index.push_back(i);
  }
  for (size_t i : index) batch.push_back(&out[i].packet);
  std::vector<absl::StatusOr<DecodedImage>> images;
  try {
    images = decoder_->DecodeBatch(batch, abandoned);
  } catch (const std::exception& e) {  // LibTorch errors must not take the daemon down
    images.assign(batch.size(), absl::InternalError(absl::StrCat("decoder failed: ", e.what())));
  }
  for (size_t j = 0; j < index.size(); ++j) {
    DecodedPacket& d = out[index[j]];
    if (images[j].ok()) {
      d.image = *std::move(images[j]);
    } else {
      spdlog::warn("packet '{}' refused: {}", d.packet.id, images[j].status().ToString());
      d.failure = AckFromStatus(d.packet.id, images[j].status());
    }
  }
  return out;
}

v1::Ack ReceiverService::Store(const DecodedPacket& d) const {
  if (d.failure.code() != 0) return d.failure;
  const ImagePacket& packet = d.packet;
  const DecodedImage& image = d.image;
  try {
    const auto t1 = std::chrono::steady_clock::now();
    absl::StatusOr<std::string> png = EncodePng(image.image);
    if (!png.ok()) return AckFromStatus(packet.id, png.status());
    const std::string path = store_->PathOf(packet.id);
    v1::Ack ack;
    ack.set_id(packet.id);
    ack.set_stored_path(path);
    ack.set_decoder_ms(image.decode_ms);
    ack.set_batch_size(image.batch_images);
    ack.set_queue_ms(d.queue_ms);
    // The store decides: new id → written; same id and same content → an idempotent resend;
    // same id, other content → ALREADY_EXISTS, and nothing of the stored image goes back.
    absl::StatusOr<ImageStore::Put> put = store_->Store(packet.id, d.content_key, *png, d.want_reconstruction);
    if (!put.ok()) {
      if (put.status().code() != absl::StatusCode::kAlreadyExists)
        spdlog::error("cannot store '{}': {}", path, put.status().ToString());
      return AckFromStatus(packet.id, put.status());
    }
    if (put->already_stored) {
      if (d.want_reconstruction) ack.set_reconstruction_png(std::move(put->stored_png));
      spdlog::info("'{}' resent (attempt {}) with the content already stored: acknowledged", packet.id, d.attempt);
      return ack;
    }
    ack.set_write_ms(MsSince(t1));
    if (d.want_reconstruction) ack.set_reconstruction_png(*std::move(png));
    spdlog::info("stored {} ({}x{}, {} tiles, {} of {} patches, {}, batch {}, {:.1f} ms)", path, packet.width,
                 packet.height, image.keep.size(0), image.kept, image.keep.numel(), PayloadKindName(packet.payload),
                 image.batch_images, image.decode_ms + MsSince(t1));
    return ack;
  } catch (const std::exception& e) {
    return AckFromStatus(packet.id, absl::InternalError(absl::StrCat("receiver failed: ", e.what())));
  }
}

// The metrics may outlive this service (the daemon's exposer holds them): unhook the queue probe.
ReceiverService::~ReceiverService() { metrics_->SetQueueProbe(nullptr); }

grpc::Status ReceiverService::Deliver(grpc::ServerContext* context,
                                      grpc::ServerReaderWriter<v1::Ack, v1::Packet>* stream) {
  if (grpc::Status s = token_.Check(*context); !s.ok()) return s;
  DeliveryStages stages{
      [this](const v1::Packet& packet) { return Admit(packet); },
      [this](QueuedPacket packet, int64_t weight) { return batcher_.Submit(std::move(packet), weight); },
      [this](const DecodedPacket& decoded) { return Store(decoded); },
  };
  DeliverySession session(context, stream, {config_.name, config_.max_in_flight, config_.max_packet_bytes}, *metrics_,
                          std::move(stages));
  return session.Run();
}

grpc::Status ReceiverService::Info(grpc::ServerContext* context, const v1::InfoRequest*, v1::ModelInfo* reply) {
  if (grpc::Status s = token_.Check(*context); !s.ok()) return s;
  FillModelInfo("receiver", decoder_->mae_options(), decoder_->fingerprint(), reply);
  FillCodecInfo(decoder_->tile_codec(), config_.codec_checkpoint, reply);
  reply->set_mae_checkpoint(config_.mae_checkpoint);
  reply->set_max_pixels(config_.max_pixels);
  return grpc::Status::OK;
}

}  // namespace mt::server
