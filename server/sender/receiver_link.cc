#include "server/sender/receiver_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "server/common/deliver_conventions.h"
#include "server/common/packet_chunks.h"
#include "server/common/security.h"
#include "server/common/status_convert.h"

namespace mt::server {
namespace {

// A cancel is advice: if the stream is so congested that it cannot be written within this, the
// receiver gives the packet up at its ack_wait_ms anyway.
constexpr std::chrono::milliseconds kCancelWriteTimeout{1000};

}  // namespace

struct ReceiverLink::Stream {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::Packet, v1::Ack>> rw;
  std::mutex write_mu;  // one Write in flight; also orders `waiting` like the wire
  std::mutex mu;
  struct Waiting {
    std::string id;  // the packet's id: its ack must carry it
    std::shared_ptr<std::promise<absl::StatusOr<v1::Ack>>> promise;
  };
  std::deque<Waiting> waiting;
  bool broken = false;
  std::string reason;  // why it broke
  std::atomic<bool> done{false};  // the reader thread has finished
  std::atomic<bool> accepts_cancel{false};  // the receiver announced it (deliver_conventions.h)
};

ReceiverLink::ReceiverLink(std::string address, std::shared_ptr<grpc::Channel> channel, LinkOptions options)
    : address_(std::move(address)),
      channel_(std::move(channel)), stub_(v1::Receiver::NewStub(channel_)), options_(std::move(options)) {}

ReceiverLink::~ReceiverLink() {
  std::list<std::pair<std::shared_ptr<Stream>, std::thread>> readers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    readers.swap(readers_);
  }
  for (auto& [s, t] : readers) s->context.TryCancel();
  for (auto& [s, t] : readers) t.join();
}

std::string ReceiverLink::State() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (stream_) return "connected";
  return last_error_.empty() ? "idle" : "down: " + last_error_;
}

void ReceiverLink::Drop(const std::shared_ptr<Stream>& s, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stream_ == s) {
      stream_.reset();
      last_error_ = reason;
    }
  }
  std::deque<Stream::Waiting> waiting;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    if (!s->broken) s->reason = reason;  // the first reason is the cause; later ones follow from it
    s->broken = true;
    waiting.swap(s->waiting);
  }
  for (auto& w : waiting)
    w.promise->set_value(absl::UnavailableError(absl::StrCat("receiver ", address_, " stream broke: ", reason)));
}

absl::StatusOr<std::shared_ptr<ReceiverLink::Stream>> ReceiverLink::Connect(
    std::chrono::system_clock::time_point deadline, const std::function<bool()>& cancelled) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stream_) return stream_;
  for (auto it = readers_.begin(); it != readers_.end();) {
    if (!it->first->done) {
      ++it;
      continue;
    }
    it->second.join();
    it = readers_.erase(it);
  }
  const auto wait_until = std::min(deadline, std::chrono::system_clock::now() + options_.connect_timeout);
  while (!channel_->WaitForConnected(std::min(wait_until, std::chrono::system_clock::now() + std::chrono::milliseconds(100)))) {
    if (cancelled && cancelled()) return absl::CancelledError("the caller went away while connecting to the receiver");
    if (std::chrono::system_clock::now() >= wait_until) {
      last_error_ = "cannot connect";
      return absl::UnavailableError(absl::StrCat("receiver ", address_, " unreachable (connection failed or timed out)"));
    }
  }
  auto s = std::make_shared<Stream>();
  AttachToken(&s->context, options_.token);
  // Acks may come in completion order: a small packet's ack need not wait behind a big one's.
  s->context.AddMetadata(std::string(kAckOrderKey), std::string(kAckOrderCompletion));
  s->rw = stub_->Deliver(&s->context);
  stream_ = s;
  last_error_.clear();
  readers_.emplace_back(s, std::thread([this, s] {
    // Receivers that honour cancels send their initial metadata at once; older ones with the
    // first ack (or never), so this never delays an ack.
    s->rw->WaitForInitialMetadata();
    s->accepts_cancel = ReceiverAcceptsCancel(s->context);
    v1::Ack ack;
    std::string mismatch;
    while (s->rw->Read(&ack)) {
      Stream::Waiting w;
      {
        std::lock_guard<std::mutex> l(s->mu);
        // Matched by id (the oldest packet with it): acks come in completion order. An ack for
        // no packet in flight means the two ends disagree about what is in flight. End the
        // stream: every waiting caller retries (safe: the store is idempotent by content).
        auto it = std::find_if(s->waiting.begin(), s->waiting.end(),
                               [&](const Stream::Waiting& x) { return x.id == ack.id(); });
        if (it == s->waiting.end()) {
          mismatch = s->waiting.empty()
                         ? absl::StrCat("ack for '", ack.id(), "' while no packet was awaited")
                         : absl::StrCat("ack for '", ack.id(), "' while '", s->waiting.front().id, "'",
                                        s->waiting.size() > 1 ? absl::StrCat(" and ", s->waiting.size() - 1, " more") : "",
                                        " was awaited");
          break;
        }
        w = std::move(*it);
        s->waiting.erase(it);
      }
      w.promise->set_value(ack);
    }
    if (!mismatch.empty()) {
      spdlog::error("receiver {} stream: {}; reconnecting", address_, mismatch);
      s->context.TryCancel();
    }
    const grpc::Status st = s->rw->Finish();
    Drop(s, !mismatch.empty() ? mismatch
            : st.ok()         ? "closed by the receiver"
                              : absl::StrCat(FromGrpcStatus(st).ToString()));
    s->done = true;
  }));
  lock.unlock();
  spdlog::info("connected to receiver {}", address_);
  return s;
}

bool ReceiverLink::WriteBefore(Stream& s, const v1::Packet& packet, std::chrono::system_clock::time_point deadline) {
  // gRPC's synchronous Write has no deadline of its own: a watchdog cancels the stream if the
  // writes are still blocked (flow control against a stalled receiver) when the caller's passes.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  bool cancelled_stream = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    const auto until = std::min(deadline, std::chrono::system_clock::now() + std::chrono::hours(24));  // max() overflows
    if (cv.wait_until(lock, until, [&] { return finished; })) return;
    spdlog::warn("receiver {}: a write was still blocked at its deadline; cancelling the stream", address_);
    cancelled_stream = true;
    s.context.TryCancel();
  });
  const std::vector<v1::Packet> chunks = SplitIntoChunks(packet, options_.max_message_bytes);
  if (chunks.empty()) s.rw->Write(packet);
  for (const v1::Packet& c : chunks)
    if (!s.rw->Write(c)) break;
  {
    std::lock_guard<std::mutex> lock(mu);
    finished = true;
  }
  cv.notify_all();
  watchdog.join();
  return !cancelled_stream;
}

absl::StatusOr<v1::Ack> ReceiverLink::DeliverOnce(v1::Packet& packet,
                                                  std::chrono::system_clock::time_point deadline,
                                                  const std::function<bool()>& cancelled) {
  if (const size_t bytes = packet.ByteSizeLong(); static_cast<int64_t>(bytes) > options_.max_packet_bytes)
    return absl::ResourceExhaustedError(
        absl::StrCat("the packet for '", packet.id(), "' is ", bytes, " bytes, over the receiver's packet limit of ",
                     options_.max_packet_bytes, " (--max_packet_bytes, the same on both daemons): "
                     "send a smaller image or a more compact payload (latent, or a lower keep ratio)"));
  absl::StatusOr<std::shared_ptr<Stream>> s = Connect(deadline, cancelled);
  if (!s.ok()) return s.status();
  auto promise = std::make_shared<std::promise<absl::StatusOr<v1::Ack>>>();
  std::future<absl::StatusOr<v1::Ack>> future = promise->get_future();
  {
    std::lock_guard<std::mutex> w((*s)->write_mu);
    {
      std::lock_guard<std::mutex> l((*s)->mu);
      if ((*s)->broken)
        return absl::UnavailableError(absl::StrCat("receiver ", address_, " stream broke: ", (*s)->reason));
      (*s)->waiting.push_back({packet.id(), promise});
    }
    // Counted once the stream is ours, so time spent behind other writes is not promised twice.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::system_clock::now());
    packet.set_ack_wait_ms(std::max<int64_t>(1, left.count()));
    // A failed write means the stream is finished; the reader then fails `promise` with the
    // receiver's reason (e.g. a refused token), which is more useful than "write failed".
    if (!WriteBefore(**s, packet, deadline)) {
      // Dropped here, not when the reader thread gets round to it: otherwise the next caller
      // could take the cancelled stream and fail UNAVAILABLE instead of connecting anew.
      Drop(*s, "a write was still blocked at the caller's deadline (receiver stalled); stream cancelled");
      return absl::DeadlineExceededError(absl::StrCat(
          "receiver ", address_, " did not take the packet for '", packet.id(), "' before the deadline (stalled stream)"));
    }
  }
  // Waits in slices so a caller that goes away (cancelled, or its server shutting down) is let go
  // at once rather than at its deadline; the ack, if it comes, is then dropped.
  constexpr auto kSlice = std::chrono::milliseconds(100);
  for (;;) {
    const auto now = std::chrono::system_clock::now();
    if (now >= deadline) return absl::DeadlineExceededError("no acknowledgement from the receiver before the deadline");
    if (future.wait_until(std::min(deadline, now + kSlice)) == std::future_status::ready) return future.get();
    if (cancelled && cancelled()) {
      WriteCancel(*s, packet.id());
      return absl::CancelledError("the caller went away while waiting for the receiver");
    }
  }
}

void ReceiverLink::WriteCancel(const std::shared_ptr<Stream>& s, const std::string& id) {
  if (!s->accepts_cancel) return;  // an older receiver: it decodes on until the packet's ack_wait_ms
  v1::Packet cancel;
  cancel.set_id(id);
  cancel.set_cancel(true);
  std::lock_guard<std::mutex> w(s->write_mu);
  {
    std::lock_guard<std::mutex> l(s->mu);
    if (s->broken) return;
  }
  // The packet's ack still comes (CANCELLED, or stored if it was done) and is matched as usual.
  if (!WriteBefore(*s, cancel, std::chrono::system_clock::now() + kCancelWriteTimeout))
    Drop(s, "a cancel could not be written within 1 s (receiver stalled); stream cancelled");
}

}  // namespace mt::server
