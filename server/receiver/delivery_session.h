// One mt.v1.Receiver.Deliver stream: a sender's long-lived stream of packets in, one Ack per
// packet out. The session announces at once that it honours cancels, then runs two threads:
// - its reader thread reads the stream: it counts wire bytes, applies cancels (control messages,
//   never acked), rebuilds chunked packets (ChunkAssembler; their chunks come back to back), asks
//   the service to admit each packet and submits it for decoding, so packets of concurrent
//   requests meet in one decoder forward. A packet refused on the way (bad chunks, over the
//   packet limit or the FLOP budget) gets a ready failure at its place in the queue. At most
//   max_in_flight packets wait for their acks: beyond that the reader stops reading.
// - the caller's thread (Run) writes the acks: in packet order, or, when the sender asked for
//   completion order (deliver_conventions.h), as soon as each packet is stored. Each ack is
//   stored first (the Store stage), named after this receiver and counted in the metrics. After a
//   failed write the session keeps draining, so every queued packet finishes before Run returns.
// Thread-safety: one object per stream, used by the gRPC handler thread that called Run and the
// reader thread Run starts and joins; the stages must be safe to call from both (and from other
// sessions) at once.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/sync_stream.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "core/codec/chunk_assembler.h"
#include "core/pipeline/packet_decoder.h"
#include "core/runtime/cancel_registry.h"
#include "mt/v1/transmission.grpc.pb.h"
#include "server/common/metrics.h"

namespace mt::server {

// A packet waiting for the decoder.
struct QueuedPacket {
  v1::Packet packet;
  std::chrono::steady_clock::time_point arrived;
  // arrived + the packet's ack_wait_ms: its sender stops waiting then. max(): no limit.
  std::chrono::steady_clock::time_point give_up = std::chrono::steady_clock::time_point::max();
  CancelRegistry::Flag cancelled;  // set when its sender writes a cancel for it (never null)
};

// A packet after the decoder: its failure Ack, or the image to store.
struct DecodedPacket {
  v1::Ack failure;  // code != 0 when the packet was refused
  ImagePacket packet;
  DecodedImage image;
  bool want_reconstruction = false;
  int attempt = 0;
  std::string content_key;  // PacketContentKey of what was sent
  double queue_ms = 0;
};

// What a session asks of its service (ReceiverService), per packet.
struct DeliveryStages {
  // OK, or why the packet is refused before it is queued (the session acks it with that status).
  std::function<absl::Status(const v1::Packet&)> admit;
  // Queues a packet weighing `weight` tiles for decoding; the future never holds an exception.
  std::function<std::future<DecodedPacket>(QueuedPacket packet, int64_t weight)> submit;
  // A decoded (or refused) packet → its Ack, after writing its image. Never throws.
  std::function<v1::Ack(const DecodedPacket&)> store;
};

struct DeliveryOptions {
  std::string receiver_name;                      // set in every Ack
  int max_in_flight = 64;                         // packets read ahead before their acks are written
  int64_t max_packet_bytes = int64_t{256} << 20;  // largest packet rebuilt from chunks
};

class DeliverySession {
 public:
  // `context`, `stream` and `metrics` must outlive the session.
  DeliverySession(grpc::ServerContext* context, grpc::ServerReaderWriter<v1::Ack, v1::Packet>* stream,
                  DeliveryOptions options, DaemonMetrics& metrics, DeliveryStages stages);
  DeliverySession(const DeliverySession&) = delete;
  DeliverySession& operator=(const DeliverySession&) = delete;

  // Serves the stream until the sender closes it (or the call ends) and every packet read has
  // been acked or dropped with a dead stream; always OK. Call once.
  grpc::Status Run();

 private:
  // --- reader thread ---
  void ReadPackets();
  // Takes chunk `message`; true when it completed its packet, which then replaces `message`.
  bool AssembleChunk(v1::Packet& message);
  // Admits `packet` and submits it for decoding, or refuses it.
  void Submit(v1::Packet packet);
  // Queues a failure Ack for `id`.
  void Refuse(const std::string& id, const absl::Status& why);
  // Appends to the ack queue, then waits while it holds max_in_flight packets.
  void Enqueue(std::future<DecodedPacket> decoded);

  // --- Run's thread ---
  // Acks every packet the reader queues, until it stops; returns how many were written.
  int64_t WriteAcks();
  // The next packet to ack (the oldest, or with `any_order` the first finished one); nullopt
  // once the reader has stopped and nothing is left.
  std::optional<std::future<DecodedPacket>> NextToAck(bool any_order);
  // Stores the packet and fills its Ack; counts it in the metrics.
  v1::Ack Acknowledge(const DecodedPacket& decoded);

  grpc::ServerContext* const context_;
  grpc::ServerReaderWriter<v1::Ack, v1::Packet>* const stream_;
  const DeliveryOptions options_;
  DaemonMetrics& metrics_;
  const DeliveryStages stages_;
  CancelRegistry cancels_;  // this stream's packets in flight, by id (thread-safe)
  ChunkAssembler chunks_;   // reader thread only

  std::mutex mu_;
  std::condition_variable cv_;  // pending_ or reading_ changed
  // Packets read and not yet acked, in arrival order. Only Run's thread removes from it (the
  // reader appends, which keeps references to the others valid).
  std::deque<std::future<DecodedPacket>> pending_;  // guarded by mu_
  bool reading_ = true;                             // guarded by mu_
  std::thread reader_;
};

}  // namespace mt::server
