#include "server/receiver/receiver_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "core/codec/chunk_assembler.h"
#include "core/io/image_store.h"
#include "core/io/image_io.h"
#include "core/pipeline/request_cost.h"
#include "core/runtime/stopwatch.h"
#include "server/common/deliver_conventions.h"
#include "server/common/content_key.h"
#include "server/common/packet_chunks.h"
#include "server/common/packet_proto.h"
#include "server/common/security.h"
#include "server/common/status_convert.h"

namespace mt::server {
namespace {

// How often the ack writer looks for a finished packet while the oldest is still decoding.
constexpr std::chrono::milliseconds kAckPollInterval{2};
constexpr int64_t kNoAckWaitAboveMs = 1'000'000'000;

// Tiles a packet costs the batcher: its tile payloads, or for a latent packet (whose tiles are
// all in one stream) the count its size implies, capped so a bogus header cannot stall a batch.
int64_t BatchWeight(const v1::Packet& p) {
  constexpr int64_t kMaxWeight = 1 << 16;
  if (p.payload() != v1::LATENT || p.tile_size() <= 0 || p.height() <= 0 || p.width() <= 0)
    return std::max<int64_t>(1, p.tiles_size());
  // In 32×32-pixel tiles whatever the codec's tile (the conv codec's are 512 px), so one
  // --large_request_tiles threshold means the same image size for every payload.
  constexpr int64_t kUnit = 32;
  return std::min(kMaxWeight, ((p.height() + kUnit - 1) / kUnit) * ((p.width() + kUnit - 1) / kUnit));
}

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
      batcher_(config_.batching, [this](std::vector<Queued>& batch) { return DecodeLive(batch); }) {
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

std::vector<ReceiverService::Decoded> ReceiverService::DecodeLive(std::vector<Queued>& batch) const {
  const auto start = std::chrono::steady_clock::now();
  std::vector<Decoded> out(batch.size());
  // Why the sender no longer waits for batch[i] at `now` (OK: it still does). Reads only the
  // packet's id and wait, which stay in `batch` after the packet itself moves on to decoding.
  std::vector<std::pair<std::string, int64_t>> heads;  // id, ack_wait_ms
  for (const Queued& q : batch) heads.emplace_back(q.packet.id(), q.packet.ack_wait_ms());
  auto given_up = [&](size_t i, std::chrono::steady_clock::time_point now, const char* when) {
    const Queued& q = batch[i];
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
  std::vector<Decoded> decoded = DecodeBatch(std::move(live), abandoned);
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

std::vector<ReceiverService::Decoded> ReceiverService::DecodeBatch(std::vector<v1::Packet> protos,
                                                                   const std::function<bool()>& abandoned) const {
  std::vector<Decoded> out(protos.size());
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
    Decoded& d = out[index[j]];
    if (images[j].ok()) {
      d.image = *std::move(images[j]);
    } else {
      spdlog::warn("packet '{}' refused: {}", d.packet.id, images[j].status().ToString());
      d.failure = AckFromStatus(d.packet.id, images[j].status());
    }
  }
  return out;
}

v1::Ack ReceiverService::Store(const Decoded& d) const {
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
  spdlog::info("sender connected from {}", context->peer());
  // At once, not with the first ack: the sender may need to cancel before any ack is due.
  context->AddInitialMetadata(std::string(kAcceptsCancelKey), std::string(kAcceptsCancelYes));
  stream->SendInitialMetadata();
  CancelRegistry cancels;  // this stream's packets in flight, by id
  // The reader queues packets for the batcher as they arrive (so packets of concurrent requests
  // meet in one decoder forward); this thread writes their acks back in arrival order.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::future<Decoded>> pending;
  bool reading = true;
  std::thread reader([&] {
    auto enqueue = [&](std::future<Decoded> ack) {
      std::unique_lock<std::mutex> lock(mu);
      pending.push_back(std::move(ack));
      cv.notify_all();
      cv.wait(lock, [&] { return static_cast<int>(pending.size()) < config_.max_in_flight; });
    };
    auto refuse = [&](const std::string& id, const absl::Status& why) {
      spdlog::warn("packet '{}' refused: {}", id, why.ToString());
      std::promise<Decoded> failed;
      Decoded d;
      d.failure = AckFromStatus(id, why);
      failed.set_value(std::move(d));
      enqueue(failed.get_future());
    };
    ChunkAssembler chunks(config_.max_packet_bytes);  // chunks of one packet come back to back
    v1::Packet packet;
    while (stream->Read(&packet)) {
      metrics_->AddWireBytes(WireBytes(packet));
      if (packet.cancel()) {  // a control message: no ack of its own
        const int n = cancels.Cancel(packet.id());
        spdlog::info("sender cancelled '{}' ({})", packet.id(), n > 0 ? "dropped or stopped" : "not in flight");
        continue;
      }
      if (IsChunk(packet)) {
        ChunkOutcome o = chunks.Add(ChunkOf(packet));
        if (!o.abandoned_id.empty()) refuse(o.abandoned_id, o.abandoned);
        if (!o.status.ok()) refuse(packet.id(), o.status);
        if (!o.complete) continue;  // more chunks to come, or refused
        absl::StatusOr<v1::Packet> whole = ParseRebuiltPacket(*o.complete, packet.id());
        if (!whole.ok()) {
          refuse(packet.id(), whole.status());
          continue;
        }
        packet = *std::move(whole);
      }
      if (absl::Status s = Admit(packet); !s.ok()) {
        refuse(packet.id(), s);
        packet = v1::Packet();
        continue;
      }
      const int64_t weight = BatchWeight(packet);
      CancelRegistry::Flag cancelled = cancels.Register(packet.id());
      Queued q{std::move(packet), std::chrono::steady_clock::now(), std::chrono::steady_clock::time_point::max(),
               std::move(cancelled)};
      // Waits beyond ~11 days count as none (and cannot overflow the clock).
      if (const int64_t wait = q.packet.ack_wait_ms(); wait > 0 && wait < kNoAckWaitAboveMs)
        q.give_up = q.arrived + std::chrono::milliseconds(wait);
      enqueue(batcher_.Submit(std::move(q), weight));
      packet = v1::Packet();
    }
    std::lock_guard<std::mutex> lock(mu);
    reading = false;
    cv.notify_all();
  });
  int64_t count = 0;
  bool writable = true;
  const bool any_order = AcksInCompletionOrder(*context);
  for (;;) {
    std::future<Decoded> next;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !pending.empty() || !reading; });
      if (pending.empty()) break;
      auto it = pending.begin();
      if (any_order) {  // the first finished packet, so a small one's ack never waits for a big one
        it = std::find_if(pending.begin(), pending.end(), [](const std::future<Decoded>& f) {
          return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
        });
        if (it == pending.end()) {
          // Only this thread removes from `pending` (the reader appends, which keeps references).
          std::future<Decoded>& oldest = pending.front();
          lock.unlock();
          oldest.wait_for(kAckPollInterval);
          continue;
        }
      }
      next = std::move(*it);
      pending.erase(it);
      cv.notify_all();
    }
    v1::Ack ack = Store(next.get());  // neither DecodeBatch nor Store throws
    ack.set_receiver(config_.name);
    metrics_->CountRequest(static_cast<absl::StatusCode>(ack.code()));
    if (ack.code() == 0) {
      metrics_->ObserveStage("queue", ack.queue_ms());
      metrics_->ObserveStage("decoder", ack.decoder_ms());
      metrics_->ObserveStage("write", ack.write_ms());
      metrics_->ObserveBatch(ack.batch_size());
    }
    // After a failed write the sender is gone; keep draining so every queued packet finishes.
    if (writable && !stream->Write(ack)) writable = false;
    if (writable) ++count;
  }
  reader.join();
  spdlog::info("sender {} disconnected after {} packets", context->peer(), count);
  return grpc::Status::OK;
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
