// mt.v1.Sender: decodes client images, runs core's PacketEncoder (masker → selection → MAE
// encoder, or the latent codec), ships the packet to a receiver of the ReceiverPool, and reports bytes on
// the wire, keep ratio, PSNR/SSIM of the receiver's stored image, and per-stage timings.
// Thread-safety: gRPC calls the handlers concurrently; the encoder and pool are thread-safe, and
// concurrent requests meet in a DynamicBatcher that runs the models on one worker thread.
#pragma once

#include <grpcpp/server_context.h>

#include <memory>
#include <optional>
#include <string>

#include "core/masking/patch_selector.h"
#include "core/pipeline/packet_encoder.h"
#include "core/runtime/dynamic_batcher.h"
#include "core/runtime/inflight_budget.h"
#include "mt/v1/transmission.grpc.pb.h"
#include "server/common/metrics.h"
#include "server/common/security.h"
#include "server/sender/receiver_pool.h"
#include "server/sender/request_validation.h"

namespace mt::server {

struct SenderConfig {
  std::string receiver;           // --receiver as given, for Info
  std::string mae_checkpoint, masker_checkpoint;  // for Info
  std::string codec_checkpoint;   // for Info ("" when the encoder has no latent codec)
  int64_t max_pixels = 16 << 20;  // largest decoded image (RESOURCE_EXHAUSTED beyond)
  // Pixels of all requests between header check and reply; past it, RESOURCE_EXHAUSTED before
  // decoding (one request alone is always admitted; 0 = no bound).
  int64_t max_inflight_pixels = 24 << 20;
  int64_t max_packet_bytes = int64_t{256} << 20;  // --max_packet_bytes: requests committing to more are refused
  double max_request_gflop = 0;   // --max_request_gflop: costlier requests are refused before queueing (0 = none)
  double default_keep_ratio = kDefaultKeepRatio;  // when a request sets no selection
  // When a request sets no payload (--payload); unset: the encoder's best_payload().
  std::optional<PayloadKind> default_payload;
  std::string token;              // required bearer token from clients (empty: none)
  std::chrono::milliseconds default_deadline{30000};  // when the client sets none
  // Concurrent requests share masker/encoder forwards (max_items 1: each request alone).
  // max_weight counts tiles, so a few large photos do not make one huge batch.
  BatchingOptions batching{16, 256, std::chrono::microseconds(0)};
};

class SenderService final : public v1::Sender::Service {
 public:
  // `metrics` (null: kept privately, unserved) records every request.
  SenderService(std::shared_ptr<const PacketEncoder> encoder, std::shared_ptr<ReceiverPool> receivers,
                SenderConfig config, std::shared_ptr<DaemonMetrics> metrics = nullptr);
  ~SenderService() override;

  grpc::Status Send(grpc::ServerContext* context, const v1::SendRequest* request, v1::SendReply* reply) override;
  grpc::Status SendStream(grpc::ServerContext* context,
                          grpc::ServerReaderWriter<v1::SendReply, v1::SendRequest>* stream) override;
  grpc::Status Info(grpc::ServerContext* context, const v1::InfoRequest* request, v1::ModelInfo* reply) override;

 private:
  // One image end to end; the status is what the client sees.
  absl::Status Process(grpc::ServerContext* context, const v1::SendRequest& request, v1::SendReply* reply);
  // Process(), with exceptions (LibTorch errors) turned into INTERNAL; counted in metrics_.
  absl::Status ProcessNoThrow(grpc::ServerContext* context, const v1::SendRequest& request, v1::SendReply* reply);
  // Counts a finished request and its stages in metrics_.
  void Record(const absl::Status& status, const v1::SendReply& reply, double seconds);

  std::shared_ptr<const PacketEncoder> encoder_;
  std::shared_ptr<ReceiverPool> receivers_;
  SenderConfig config_;
  RequestDefaults defaults_;  // what a request's unset payload and selection mean
  std::shared_ptr<DaemonMetrics> metrics_;
  TokenCheck token_;
  InflightBudget inflight_;  // pixels admitted and not yet answered (before the batcher: it holds images)
  DynamicBatcher<EncodeRequest, absl::StatusOr<EncodedImage>> batcher_;
};

}  // namespace mt::server
