// The sender's one long-lived Deliver stream to one receiver. Packets from concurrent requests
// are written in turn (a large one as consecutive chunks: server/common/packet_chunks); acks
// come back in completion order and are handed to the caller waiting for their id (an ack for no
// packet in flight ends the stream: every waiting caller fails).
// When the stream breaks, every waiting caller gets UNAVAILABLE and the next DeliverOnce()
// reconnects (gRPC's channel backoff paces the attempts). Retrying, on this receiver or another,
// is ReceiverPool's job; it is safe because the receiver's store is idempotent by content.
// Thread-safety: DeliverOnce() and State() may be called from any number of threads.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "mt/v1/transmission.grpc.pb.h"

namespace mt::server {

struct LinkOptions {
  std::string token;              // bearer token the receiver requires (empty: none)
  std::chrono::milliseconds connect_timeout{2000};  // per attempt, capped by the caller's deadline
  // Largest message written (the receiver's --max_message_bytes; a bigger one would end the
  // shared stream for every request in flight): larger packets travel in chunks of this size.
  int64_t max_message_bytes = 64 << 20;
  // Largest packet sent at all (the receiver's --max_packet_bytes): beyond it, refused first.
  int64_t max_packet_bytes = int64_t{256} << 20;
};

class ReceiverLink {
 public:
  // `address` names the receiver in logs and states.
  ReceiverLink(std::string address, std::shared_ptr<grpc::Channel> channel, LinkOptions options);
  ~ReceiverLink();
  ReceiverLink(const ReceiverLink&) = delete;
  ReceiverLink& operator=(const ReceiverLink&) = delete;

  // Sends `packet` once (in chunks when over max_message_bytes) and waits for its Ack until
  // `deadline`. UNAVAILABLE when the receiver cannot be reached or the stream breaks before the
  // ack; DEADLINE_EXCEEDED when the deadline passes first (a write still blocked then, e.g. on a
  // stalled receiver, cancels the stream: its other callers retry); RESOURCE_EXHAUSTED (nothing
  // sent) for a packet over max_packet_bytes;
  // CANCELLED within 0.1 s of `cancelled` (polled while waiting; may be null) turning true, and
  // then a cancel for the packet is written (mt.v1.Packet.cancel) if the receiver accepts them,
  // so it drops the packet or stops decoding it.
  // Sets `packet`'s ack_wait_ms to the time left before `deadline` when it is written, so the
  // receiver does not decode it after this call has given up.
  absl::StatusOr<v1::Ack> DeliverOnce(v1::Packet& packet, std::chrono::system_clock::time_point deadline,
                                      const std::function<bool()>& cancelled = nullptr);

  // "connected", "idle" (no stream yet) or "down: <reason>".
  std::string State() const;
  const std::string& address() const { return address_; }

 private:
  struct Stream;  // one Deliver call: context, reader thread, waiting callers
  // The current stream, or a new one; waits for the channel in 0.1 s slices, so a caller that is
  // `cancelled` (may be null) is let go (CANCELLED) instead of waiting out the connect timeout.
  absl::StatusOr<std::shared_ptr<Stream>> Connect(std::chrono::system_clock::time_point deadline,
                                                  const std::function<bool()>& cancelled);
  void Drop(const std::shared_ptr<Stream>& stream, const std::string& reason);
  // Writes `packet`, as chunks when over max_message_bytes (caller holds the stream's write_mu);
  // cancels the stream if a write is still blocked at `deadline`, and then returns false (the
  // caller drops the stream).
  bool WriteBefore(Stream& stream, const v1::Packet& packet, std::chrono::system_clock::time_point deadline);
  // Tells the receiver the packet `id` is no longer awaited, if it accepts cancels and the
  // stream is up (best effort: takes the write lock, at most kCancelWriteTimeout).
  void WriteCancel(const std::shared_ptr<Stream>& stream, const std::string& id);

  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Receiver::Stub> stub_;
  LinkOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<Stream> stream_;  // current stream, or null
  std::string last_error_;
  // Reader threads with their streams; finished ones are joined at the next Connect().
  std::list<std::pair<std::shared_ptr<Stream>, std::thread>> readers_;
};

}  // namespace mt::server
