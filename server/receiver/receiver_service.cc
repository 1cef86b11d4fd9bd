#include "server/receiver/receiver_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/io/atomic_file.h"
#include "core/io/image_io.h"
#include "core/runtime/stopwatch.h"
#include "server/common/packet_proto.h"

namespace mt::server {
namespace {

v1::Ack Failure(const std::string& id, const absl::Status& s) {
  v1::Ack ack;
  ack.set_id(id);
  ack.set_code(static_cast<int>(s.code()));
  ack.set_message(std::string(s.message()));
  return ack;
}

}  // namespace

ReceiverService::ReceiverService(std::shared_ptr<const PacketDecoder> decoder, ReceiverConfig config)
    : decoder_(std::move(decoder)), config_(std::move(config)), token_(config_.token) {
  std::filesystem::create_directories(config_.output_dir);
}

v1::Ack ReceiverService::Handle(const v1::Packet& proto) const {
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<ImagePacket> packet = FromProto(proto);
  if (!packet.ok()) return Failure(proto.id(), packet.status());
  absl::StatusOr<DecodedImage> image;
  try {
    image = decoder_->Decode(*packet);
  } catch (const std::exception& e) {  // LibTorch errors must not take the daemon down
    image = absl::InternalError(absl::StrCat("decoder failed: ", e.what()));
  }
  if (!image.ok()) {
    spdlog::warn("packet '{}' refused: {}", proto.id(), image.status().ToString());
    return Failure(proto.id(), image.status());
  }
  const double decoder_ms = MsSince(t0);
  const auto t1 = std::chrono::steady_clock::now();
  absl::StatusOr<std::string> png = EncodePng(image->image);
  if (!png.ok()) return Failure(proto.id(), png.status());
  const std::string path = (std::filesystem::path(config_.output_dir) / (packet->id + ".png")).string();
  if (absl::Status s = WriteFileAtomic(path, *png); !s.ok()) {
    spdlog::error("cannot store '{}': {}", path, s.ToString());
    return Failure(proto.id(), absl::UnavailableError(absl::StrCat("receiver cannot store the image: ", s.message())));
  }
  v1::Ack ack;
  ack.set_id(packet->id);
  ack.set_code(0);
  ack.set_stored_path(path);
  ack.set_decoder_ms(decoder_ms);
  ack.set_write_ms(MsSince(t1));
  if (proto.want_reconstruction()) ack.set_reconstruction_png(*png);
  spdlog::info("stored {} ({}x{}, {} tiles, {} of {} patches, {}, {:.1f} ms)", path, packet->width, packet->height,
               packet->tiles.size(), image->kept, image->keep.numel(), PayloadKindName(packet->payload),
               MsSince(t0));
  return ack;
}

grpc::Status ReceiverService::Deliver(grpc::ServerContext* context,
                                      grpc::ServerReaderWriter<v1::Ack, v1::Packet>* stream) {
  if (grpc::Status s = token_.Check(*context); !s.ok()) return s;
  spdlog::info("sender connected from {}", context->peer());
  v1::Packet packet;
  int64_t count = 0;
  while (stream->Read(&packet)) {
    if (!stream->Write(Handle(packet))) break;
    ++count;
  }
  spdlog::info("sender {} disconnected after {} packets", context->peer(), count);
  return grpc::Status::OK;
}

grpc::Status ReceiverService::Info(grpc::ServerContext* context, const v1::InfoRequest*, v1::ModelInfo* reply) {
  if (grpc::Status s = token_.Check(*context); !s.ok()) return s;
  FillModelInfo("receiver", decoder_->mae_options(), decoder_->fingerprint(), reply);
  reply->set_mae_checkpoint(config_.mae_checkpoint);
  reply->set_max_pixels(config_.max_pixels);
  return grpc::Status::OK;
}

}  // namespace mt::server
