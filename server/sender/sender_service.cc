#include "server/sender/sender_service.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/codec/bitmap.h"
#include "core/io/image_io.h"
#include "core/metrics/image_metrics.h"
#include "core/pipeline/request_cost.h"
#include "core/runtime/stopwatch.h"
#include "server/common/packet_proto.h"
#include "server/common/status_convert.h"
#include "server/sender/request_validation.h"

namespace mt::server {
namespace {

using Clock = std::chrono::steady_clock;

absl::Status Interrupted(const grpc::ServerContext* context) {
  if (context->IsCancelled()) return absl::CancelledError("the client cancelled or its deadline passed");
  return absl::OkStatus();
}

// Everything in the reply but the timings and the quality: sizes, bytes, counts, kept-patch
// bitmaps, and for LATENT the level used and the entropy model's estimate.
void FillReply(const v1::SendRequest& request, const EncodeOptions& options, const EncodedImage& encoded,
               int64_t h, int64_t w, v1::Ack& ack, v1::SendReply* reply) {
  const ImagePacket& packet = encoded.packet;
  reply->set_id(request.id());
  reply->set_width(static_cast<int32_t>(w));
  reply->set_height(static_cast<int32_t>(h));
  reply->set_wire_bytes(WireBytes(packet));
  reply->set_payload_bytes(PayloadBytes(packet));  // a latent packet's stream included
  reply->set_raw_bytes(h * w * 3);
  reply->set_image_bytes(static_cast<int64_t>(request.image().size()));
  reply->set_tiles(static_cast<int32_t>(encoded.grid.count()));
  reply->set_patches_total(static_cast<int32_t>(encoded.keep.numel()));
  reply->set_patches_kept(static_cast<int32_t>(encoded.kept));
  reply->set_keep_ratio(static_cast<double>(encoded.kept) / static_cast<double>(encoded.keep.numel()));
  reply->set_stored_path(ack.stored_path());
  reply->set_payload(ToProto(options.payload));
  if (!CarriesLatents(options.payload)) reply->set_precision(ToProto(options.precision));
  if (request.return_reconstruction()) reply->set_reconstruction_png(std::move(*ack.mutable_reconstruction_png()));
  reply->set_tile_size(static_cast<int32_t>(packet.tile_size));
  reply->set_patch_size(static_cast<int32_t>(packet.patch_size));
  // From the final keep mask, so latent packets (whose masks are inside the stream) get them too.
  for (int64_t t = 0; t < encoded.keep.size(0); ++t) reply->add_keep_bitmaps(PackBitmap(encoded.keep[t]));
  if (CarriesLatents(options.payload)) {
    reply->set_latent_level(static_cast<int32_t>(packet.latent_level));
    reply->set_estimated_payload_bytes(static_cast<int64_t>(std::ceil(encoded.estimated_bits / 8.0)));
    if (encoded.position_bits.defined()) {
      const at::Tensor bits = encoded.position_bits.contiguous();
      reply->mutable_position_bits()->Add(bits.data_ptr<float>(), bits.data_ptr<float>() + bits.numel());
    }
  }
}

// PSNR and SSIM of the receiver's stored PNG against `image` (3, H, W) into the reply.
absl::Status MeasureQuality(const at::Tensor& image, const std::string& stored_png, v1::SendReply* reply) {
  absl::StatusOr<at::Tensor> stored = DecodeImageRgb(stored_png);
  if (!stored.ok() || stored->sizes() != image.sizes())
    return absl::InternalError("receiver returned an unreadable reconstruction");
  const at::Tensor a = image.unsqueeze(0), b = stored->unsqueeze(0);
  reply->set_psnr_db(Psnr(a, b)[0].item<double>());
  reply->set_ssim(image.size(1) >= kSsimWindow && image.size(2) >= kSsimWindow ? Ssim(a, b)[0].item<double>() : -1.0);
  return absl::OkStatus();
}

}  // namespace

SenderService::SenderService(std::shared_ptr<const PacketEncoder> encoder, std::shared_ptr<ReceiverPool> receivers,
                             SenderConfig config, std::shared_ptr<DaemonMetrics> metrics)
    : encoder_(std::move(encoder)),
      receivers_(std::move(receivers)),
      config_(std::move(config)),
      defaults_{config_.default_payload.value_or(encoder_->best_payload()), config_.default_keep_ratio},
      metrics_(metrics ? std::move(metrics) : *DaemonMetrics::Create("sender", "")),
      token_(config_.token),
      inflight_(config_.max_inflight_pixels),
      batcher_(config_.batching, [this](std::vector<EncodeRequest>& batch) { return encoder_->EncodeBatch(batch); }) {
  metrics_->SetQueueProbe([this] { return static_cast<double>(batcher_.QueuedWeight()); });
}

// The metrics may outlive this service (the daemon's exposer holds them): unhook the queue probe.
SenderService::~SenderService() { metrics_->SetQueueProbe(nullptr); }

void SenderService::Record(const absl::Status& status, const v1::SendReply& reply, double seconds) {
  metrics_->CountRequest(status.code());
  metrics_->ObserveLatency(seconds);
  if (!status.ok()) return;
  const v1::StageTimings& t = reply.timings();
  metrics_->ObserveStage("decode_image", t.decode_image_ms());
  metrics_->ObserveStage("queue", t.queue_ms());
  metrics_->ObserveStage("masker", t.masker_ms());
  metrics_->ObserveStage("encoder", t.encoder_ms());
  metrics_->ObserveStage("transmit", t.transmit_ms());
  if (reply.psnr_db() > 0) metrics_->ObserveStage("quality", t.quality_ms());  // PSNR/SSIM, when asked
  metrics_->ObserveBatch(t.sender_batch());
  metrics_->AddWireBytes(reply.wire_bytes());
  if (reply.psnr_db() > 0) metrics_->ObservePsnr(reply.psnr_db());
}

absl::Status SenderService::Process(grpc::ServerContext* context, const v1::SendRequest& request,
                                    v1::SendReply* reply) {
  const auto t_start = Clock::now();
  auto t0 = Clock::now();
  // Admission by the header's size, once it is checked and before anything is decoded.
  InflightBudget::Reservation admitted;
  auto admit = [&](const ImageHeader& header) {
    absl::StatusOr<InflightBudget::Reservation> r = inflight_.Reserve(header.height * header.width);
    if (!r.ok())
      return absl::ResourceExhaustedError(absl::StrCat("sender busy: pixels of requests in flight ", r.status().message(),
                                                       " (--max_inflight_pixels): retry later"));
    admitted = *std::move(r);
    return absl::OkStatus();
  };
  absl::StatusOr<ValidRequest> valid =
      ValidateSendRequest(request, defaults_, config_.max_pixels, admit);
  if (!valid.ok()) return valid.status();
  valid->options.max_packet_bytes = config_.max_packet_bytes;
  valid->options.position_bits = request.return_reconstruction();  // the client draws them beside it
  const at::Tensor& image = valid->image;
  const double decode_ms = MsSince(t0);
  if (absl::Status s = Interrupted(context); !s.ok()) return s;

  t0 = Clock::now();
  absl::StatusOr<TileGrid> grid = PlanTiles(image.size(1), image.size(2), encoder_->mae_options().img_size);
  if (!grid.ok()) return grid.status();
  if (absl::Status s = CheckCostBudget(SenderCost(*encoder_, image.size(1), image.size(2), valid->options),
                                       config_.max_request_gflop, absl::StrCat("request '", request.id(), "'"));
      !s.ok())
    return s;
  auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max())
    deadline = std::chrono::system_clock::now() + config_.default_deadline;
  std::future<absl::StatusOr<EncodedImage>> pending =
      batcher_.Submit({image, request.id(), valid->options, deadline, [context] { return context->IsCancelled(); }},
                      grid->count());
  absl::StatusOr<EncodedImage> encoded = absl::UnknownError("not encoded");
  try {
    encoded = pending.get();
  } catch (const BatcherQueueFull& e) {
    return absl::ResourceExhaustedError(absl::StrCat("sender busy (", e.what(), " tiles waiting for the encoder; "
                                                     "--max_queued_tiles): retry later"));
  }
  if (!encoded.ok()) return encoded.status();
  const double queue_ms = std::max(0.0, MsSince(t0) - encoded->masker_ms - encoded->encoder_ms);
  if (absl::Status s = Interrupted(context); !s.ok()) return s;

  v1::Packet packet = ToProto(encoded->packet);
  // PSNR/SSIM are measured on what the receiver stored: its PNG comes back only when needed.
  packet.set_want_reconstruction(request.measure_quality() || request.return_reconstruction());
  t0 = Clock::now();
  absl::StatusOr<Delivery> delivery =
      receivers_->Deliver(std::move(packet), deadline, [context] { return context->IsCancelled(); });
  const double round_trip_ms = MsSince(t0);
  if (!delivery.ok()) return delivery.status();
  v1::Ack* ack = &delivery->ack;
  metrics_->CountDelivery(delivery->address, static_cast<absl::StatusCode>(ack->code()));
  if (absl::Status s = StatusFromAck(*ack); !s.ok())
    return absl::Status(s.code(), absl::StrCat("receiver: ", s.message()));

  t0 = Clock::now();
  if (request.measure_quality())
    if (absl::Status s = MeasureQuality(image, ack->reconstruction_png(), reply); !s.ok()) return s;
  const double quality_ms = request.measure_quality() ? MsSince(t0) : 0.0;
  FillReply(request, valid->options, *encoded, image.size(1), image.size(2), *ack, reply);
  reply->set_receiver(ack->receiver().empty() ? delivery->address
                                              : absl::StrCat(ack->receiver(), " at ", delivery->address));
  v1::StageTimings* t = reply->mutable_timings();
  t->set_decode_image_ms(decode_ms);
  t->set_masker_ms(encoded->masker_ms);
  t->set_encoder_ms(encoded->encoder_ms);
  t->set_decoder_ms(ack->decoder_ms());
  t->set_write_ms(ack->write_ms());
  t->set_transmit_ms(std::max(0.0, round_trip_ms - ack->decoder_ms() - ack->write_ms()));
  t->set_quality_ms(quality_ms);
  t->set_total_ms(MsSince(t_start));
  t->set_queue_ms(queue_ms);
  t->set_sender_batch(encoded->batch_images);
  t->set_receiver_batch(ack->batch_size());
  return absl::OkStatus();
}

absl::Status SenderService::ProcessNoThrow(grpc::ServerContext* context, const v1::SendRequest& request,
                                           v1::SendReply* reply) {
  const auto t0 = Clock::now();
  absl::Status s;
  try {
    s = Process(context, request, reply);
  } catch (const std::exception& e) {  // a LibTorch error must not take the daemon down
    s = absl::InternalError(absl::StrCat("sender failed: ", e.what()));
  }
  Record(s, *reply, MsSince(t0) / 1000.0);
  return s;
}

grpc::Status SenderService::Send(grpc::ServerContext* context, const v1::SendRequest* request,
                                 v1::SendReply* reply) {
  if (grpc::Status s = token_.Check(*context); !s.ok()) return s;
  const absl::Status s = ProcessNoThrow(context, *request, reply);
  if (!s.ok()) spdlog::warn("send '{}' from {}: {}", request->id(), context->peer(), s.ToString());
  return ToGrpcStatus(s);
}

grpc::Status SenderService::SendStream(grpc::ServerContext* context,
                                       grpc::ServerReaderWriter<v1::SendReply, v1::SendRequest>* stream) {
  if (grpc::Status s = token_.Check(*context); !s.ok()) return s;
  v1::SendRequest request;
  while (stream->Read(&request)) {
    v1::SendReply reply;
    const absl::Status s = ProcessNoThrow(context, request, &reply);
    // A stream has one final status: the first failing image ends it, naming the image.
    if (!s.ok()) return ToGrpcStatus(absl::Status(s.code(), absl::StrCat("image '", request.id(), "': ", s.message())));
    if (!stream->Write(reply)) break;
  }
  return grpc::Status::OK;
}

grpc::Status SenderService::Info(grpc::ServerContext* context, const v1::InfoRequest*, v1::ModelInfo* reply) {
  if (grpc::Status s = token_.Check(*context); !s.ok()) return s;
  FillModelInfo("sender", encoder_->mae_options(), encoder_->fingerprint(), reply);
  FillCodecInfo(encoder_->tile_codec(), config_.codec_checkpoint, reply);
  reply->set_masker(encoder_->masker_options().kind == MaskerKind::kCnn ? "cnn" : "transformer");
  reply->set_mae_checkpoint(config_.mae_checkpoint);
  reply->set_masker_checkpoint(config_.masker_checkpoint);
  reply->set_max_pixels(config_.max_pixels);
  reply->set_default_payload(ToProto(defaults_.payload));
  reply->set_receiver(config_.receiver);
  reply->set_receiver_state(receivers_->State());
  return grpc::Status::OK;
}

}  // namespace mt::server
