// libFuzzer target: arbitrary bytes as a receiver-side Packet → FromProto → PacketDecoder::Decode.
// Whatever arrives, the decoder must return a status (never crash, hang or read out of bounds).
// The model fingerprint is forced to the decoder's, so inputs get past that first check and
// exercise the rest of the validation and the decoder itself.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstddef>
#include <cstdint>

#include "core/pipeline/packet_decoder.h"
#include "mt/v1/transmission.pb.h"
#include "server/common/packet_proto.h"
#include "tests/test_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mt::PacketDecoder* decoder = [] {
    at::set_num_threads(1);
    at::manual_seed(0);
    return new mt::PacketDecoder(mt::MaskedAutoencoder(mt::test::TinyMaeOptions()), /*max_pixels=*/64 * 64);
  }();
  mt::v1::Packet proto;
  if (!proto.ParseFromArray(data, static_cast<int>(size))) return 0;
  absl::StatusOr<mt::ImagePacket> packet = mt::server::FromProto(proto);
  if (!packet.ok()) return 0;
  packet->model_fingerprint = decoder->fingerprint();
  absl::StatusOr<mt::DecodedImage> image = decoder->Decode(*packet);
  if (image.ok()) {
    // A decoded image has the declared size and values in [0, 1].
    if (image->image.size(1) != packet->height || image->image.size(2) != packet->width) __builtin_trap();
    if (image->image.min().item<float>() < 0.0f || image->image.max().item<float>() > 1.0f) __builtin_trap();
  }
  return 0;
}
