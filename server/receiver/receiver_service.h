// mt.v1.Receiver: accepts packets on a long-lived stream, reconstructs with the MAE decoder,
// writes <output_dir>/<id>.png atomically (temp file + fsync + rename) and acknowledges each
// packet, in order, only once its image is on disk. A bad packet gets an Ack carrying its
// status code; the stream and the daemon carry on.
// Each stream is a DeliverySession (delivery_session.h): its reader thread queues packets for a
// DynamicBatcher (shared by all streams) while the handler thread writes the acks back in order.
// Thread-safety: gRPC calls the handlers concurrently; all state is immutable, in core's
// thread-safe PacketDecoder, or in the batcher.
#pragma once

#include <grpcpp/server_context.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/io/image_store.h"
#include "core/pipeline/packet_decoder.h"
#include "core/runtime/cancel_registry.h"
#include "core/runtime/dynamic_batcher.h"
#include "mt/v1/transmission.grpc.pb.h"
#include "server/common/metrics.h"
#include "server/common/security.h"
#include "server/receiver/delivery_session.h"

namespace mt::server {

struct ReceiverConfig {
  std::string output_dir = "received";  // where <id>.png files go (created if missing)
  std::string name;                     // this receiver in every Ack (the sender's reply names it)
  std::string mae_checkpoint;           // for Info
  std::string codec_checkpoint;         // for Info ("" when the decoder has no latent codec)
  int64_t max_pixels = 16 << 20;        // largest image (height·width) a packet may describe
  int64_t max_packet_bytes = int64_t{256} << 20;  // largest packet rebuilt from chunks (per stream, one at a time)
  double max_request_gflop = 0;         // packets whose decoding costs more are refused undecoded (0 = none)
  std::string token;                    // required bearer token (empty: none)
  // Packets waiting on any stream share decoder forwards (max_items 1: each packet alone);
  // max_weight counts tiles.
  BatchingOptions batching{16, 256, std::chrono::microseconds(0)};
  int max_in_flight = 64;               // packets read ahead per stream before acks are written
  bool overwrite = false;               // replace an existing <id>.png (else ALREADY_EXISTS unless the
                                        // same content is resent: ImageStore)
};

class ReceiverService final : public v1::Receiver::Service {
 public:
  // `metrics` (null: kept privately, unserved) records every packet.
  ReceiverService(std::shared_ptr<const PacketDecoder> decoder, ReceiverConfig config,
                  std::shared_ptr<DaemonMetrics> metrics = nullptr);
  ~ReceiverService() override;

  grpc::Status Deliver(grpc::ServerContext* context, grpc::ServerReaderWriter<v1::Ack, v1::Packet>* stream) override;
  grpc::Status Info(grpc::ServerContext* context, const v1::InfoRequest* request, v1::ModelInfo* reply) override;

  // One packet → its Ack (also used by tests): validate, decode, write, fill timings.
  v1::Ack Handle(const v1::Packet& packet) const;

 private:
  // Admission before queueing: RESOURCE_EXHAUSTED for a packet over max_request_gflop.
  absl::Status Admit(const v1::Packet& packet) const;
  // The batcher's worker: packets whose sender has given up (QueuedPacket::give_up, or a cancel) get
  // a DEADLINE_EXCEEDED / CANCELLED ack undecoded, the rest go to DecodeBatch, which stops
  // between model slices once all of them are given up. Never throws.
  std::vector<DecodedPacket> DecodeLive(std::vector<QueuedPacket>& batch) const;
  // Packets → validated and decoded in one batch; `abandoned` as PacketDecoder::DecodeBatch's.
  // Never throws.
  std::vector<DecodedPacket> DecodeBatch(std::vector<v1::Packet> packets,
                                         const std::function<bool()>& abandoned = nullptr) const;
  // PNG encode + atomic write + Ack (the stream's own thread, so writing overlaps the next
  // batch's decoding). Never throws.
  v1::Ack Store(const DecodedPacket& decoded) const;

  std::shared_ptr<const PacketDecoder> decoder_;
  ReceiverConfig config_;
  std::shared_ptr<DaemonMetrics> metrics_;
  TokenCheck token_;
  std::unique_ptr<ImageStore> store_;  // overwrite and idempotency policy (thread-safe)
  DynamicBatcher<QueuedPacket, DecodedPacket> batcher_;
};

}  // namespace mt::server
