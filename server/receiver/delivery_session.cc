#include "server/receiver/delivery_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "absl/status/statusor.h"
#include "server/common/deliver_conventions.h"
#include "server/common/packet_chunks.h"
#include "server/common/packet_proto.h"
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

}  // namespace

DeliverySession::DeliverySession(grpc::ServerContext* context, grpc::ServerReaderWriter<v1::Ack, v1::Packet>* stream,
                                 DeliveryOptions options, DaemonMetrics& metrics, DeliveryStages stages)
    : context_(context),
      stream_(stream),
      options_(std::move(options)),
      metrics_(metrics),
      stages_(std::move(stages)),
      chunks_(options_.max_packet_bytes) {}

grpc::Status DeliverySession::Run() {
  spdlog::info("sender connected from {}", context_->peer());
  // At once, not with the first ack: the sender may need to cancel before any ack is due.
  context_->AddInitialMetadata(std::string(kAcceptsCancelKey), std::string(kAcceptsCancelYes));
  stream_->SendInitialMetadata();
  reader_ = std::thread([this] { ReadPackets(); });
  const int64_t count = WriteAcks();
  reader_.join();
  spdlog::info("sender {} disconnected after {} packets", context_->peer(), count);
  return grpc::Status::OK;
}

void DeliverySession::ReadPackets() {
  v1::Packet packet;
  while (stream_->Read(&packet)) {
    metrics_.AddWireBytes(WireBytes(packet));
    if (packet.cancel()) {  // a control message: no ack of its own
      const int n = cancels_.Cancel(packet.id());
      spdlog::info("sender cancelled '{}' ({})", packet.id(), n > 0 ? "dropped or stopped" : "not in flight");
      continue;
    }
    if (IsChunk(packet) && !AssembleChunk(packet)) continue;  // more chunks to come, or refused
    Submit(std::move(packet));
    packet = v1::Packet();
  }
  std::lock_guard<std::mutex> lock(mu_);
  reading_ = false;
  cv_.notify_all();
}

bool DeliverySession::AssembleChunk(v1::Packet& message) {
  ChunkOutcome o = chunks_.Add(ChunkOf(message));
  if (!o.abandoned_id.empty()) Refuse(o.abandoned_id, o.abandoned);
  if (!o.status.ok()) Refuse(message.id(), o.status);
  if (!o.complete) return false;
  absl::StatusOr<v1::Packet> whole = ParseRebuiltPacket(*o.complete, message.id());
  if (!whole.ok()) {
    Refuse(message.id(), whole.status());
    return false;
  }
  message = *std::move(whole);
  return true;
}

void DeliverySession::Submit(v1::Packet packet) {
  if (absl::Status s = stages_.admit(packet); !s.ok()) {
    Refuse(packet.id(), s);
    return;
  }
  const int64_t weight = BatchWeight(packet);
  CancelRegistry::Flag cancelled = cancels_.Register(packet.id());
  QueuedPacket q{std::move(packet), std::chrono::steady_clock::now(), std::chrono::steady_clock::time_point::max(),
                 std::move(cancelled)};
  // Waits beyond ~11 days count as none (and cannot overflow the clock).
  if (const int64_t wait = q.packet.ack_wait_ms(); wait > 0 && wait < kNoAckWaitAboveMs)
    q.give_up = q.arrived + std::chrono::milliseconds(wait);
  Enqueue(stages_.submit(std::move(q), weight));
}

void DeliverySession::Refuse(const std::string& id, const absl::Status& why) {
  spdlog::warn("packet '{}' refused: {}", id, why.ToString());
  std::promise<DecodedPacket> failed;
  DecodedPacket d;
  d.failure = AckFromStatus(id, why);
  failed.set_value(std::move(d));
  Enqueue(failed.get_future());
}

void DeliverySession::Enqueue(std::future<DecodedPacket> decoded) {
  std::unique_lock<std::mutex> lock(mu_);
  pending_.push_back(std::move(decoded));
  cv_.notify_all();
  cv_.wait(lock, [&] { return static_cast<int>(pending_.size()) < options_.max_in_flight; });
}

int64_t DeliverySession::WriteAcks() {
  int64_t count = 0;
  bool writable = true;
  const bool any_order = AcksInCompletionOrder(*context_);
  while (std::optional<std::future<DecodedPacket>> next = NextToAck(any_order)) {
    const v1::Ack ack = Acknowledge(next->get());  // the stages neither throw nor fail a future
    // After a failed write the sender is gone; keep draining so every queued packet finishes.
    if (writable && !stream_->Write(ack)) writable = false;
    if (writable) ++count;
  }
  return count;
}

std::optional<std::future<DecodedPacket>> DeliverySession::NextToAck(bool any_order) {
  for (;;) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !pending_.empty() || !reading_; });
    if (pending_.empty()) return std::nullopt;
    auto it = pending_.begin();
    if (any_order) {  // the first finished packet, so a small one's ack never waits for a big one
      it = std::find_if(pending_.begin(), pending_.end(), [](const std::future<DecodedPacket>& f) {
        return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      });
      if (it == pending_.end()) {
        std::future<DecodedPacket>& oldest = pending_.front();  // stays valid: only this thread removes
        lock.unlock();
        oldest.wait_for(kAckPollInterval);
        continue;
      }
    }
    std::future<DecodedPacket> next = std::move(*it);
    pending_.erase(it);
    cv_.notify_all();
    return next;
  }
}

v1::Ack DeliverySession::Acknowledge(const DecodedPacket& decoded) {
  v1::Ack ack = stages_.store(decoded);
  ack.set_receiver(options_.receiver_name);
  metrics_.CountRequest(static_cast<absl::StatusCode>(ack.code()));
  if (ack.code() == 0) {
    metrics_.ObserveStage("queue", ack.queue_ms());
    metrics_.ObserveStage("decoder", ack.decoder_ms());
    metrics_.ObserveStage("write", ack.write_ms());
    metrics_.ObserveBatch(ack.batch_size());
  }
  return ack;
}

}  // namespace mt::server
