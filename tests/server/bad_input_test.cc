// The bad-input catalogue (docs/RELIABILITY.md): every class of bad request or packet gets its
// exact status code, and the daemons then serve the next good request.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <thread>

#include "core/io/fingerprint.h"
#include "tests/server/loopback.h"

namespace mt::server {
namespace {

std::string Encoded(const cv::Mat& m, const std::string& ext) {
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(ext, m, buf)) << ext;
  return std::string(buf.begin(), buf.end());
}

// A PNG signature and IHDR chunk declaring w×h, with no image data behind it.
std::string PngHeader(uint32_t w, uint32_t h) {
  std::string s("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
  for (uint32_t v : {w, h})
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xFF));
  s += std::string("\x08\x02\0\0\0", 5);  // 8-bit RGB
  return s + std::string(4, '\0');          // CRC (not checked before the size)
}

// The TIFF bomb, header only: the first IFD says 12000×12000 (what libtiff decodes), then
// repeats ImageWidth/ImageLength as 16×16 (what a last-wins header check believed).
std::string TiffBombHeader() {
  std::string b("II*\0\x08\0\0\0", 8);
  auto le16 = [&](uint32_t v) { b += static_cast<char>(v & 0xFF), b += static_cast<char>((v >> 8) & 0xFF); };
  le16(4);
  for (auto [tag, value] : {std::pair{256, 12000}, std::pair{257, 12000}, std::pair{256, 16}, std::pair{257, 16}}) {
    le16(static_cast<uint32_t>(tag)), le16(3), le16(1), le16(0), le16(static_cast<uint32_t>(value)), le16(0);
  }
  return b + std::string(4, '\0');
}

using BadInputTest = EndToEndTest;

TEST_F(BadInputTest, ImageRequestsGetTheirStatusAndTheDaemonsKeepServing) {
  const std::string png = Png(16, 16);
  // 8×8 gray+alpha PNG (colour type 4: two channels), written by zlib in Python.
  const std::string gray_alpha(
      "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x08\x00\x00\x00\x08\x08"
      "\x04\x00\x00\x00\x6e\x06\x76\x00\x00\x00\x00\x10\x49\x44\x41\x54\x78\xda\x63\x48\x39\x81\x0a\x19\x06"
      "\x46\x00\x00\xe1\x25\x4b\x01\xeb\xb2\x48\x7c\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82",
      73);
  cv::Mat gray(8, 8, CV_8UC1, cv::Scalar(128));
  cv::Mat rgba(8, 8, CV_8UC4, cv::Scalar(1, 2, 3, 4));
  cv::Mat deep(8, 8, CV_16UC3, cv::Scalar(65535, 0, 32896));
  struct Case {
    const char* what;
    std::string image;
    grpc::StatusCode code;
    const char* message_part;
  };
  const std::vector<Case> cases = {
      {"empty bytes", "", grpc::StatusCode::INVALID_ARGUMENT, "empty"},
      {"truncated header", png.substr(0, 12), grpc::StatusCode::INVALID_ARGUMENT, "truncated"},
      {"truncated image data", png.substr(0, png.size() / 2), grpc::StatusCode::INVALID_ARGUMENT, "decod"},
      {"non-image bytes", "hello, this is not an image", grpc::StatusCode::INVALID_ARGUMENT, "not a supported"},
      {"format OpenCV cannot decode (GIF)", std::string("GIF89a\x08\0\x08\0\0\0\0", 13), grpc::StatusCode::INVALID_ARGUMENT, "GIF"},
      {"0x0 image", PngHeader(0, 0), grpc::StatusCode::INVALID_ARGUMENT, "0x0"},
      {"0-wide image", PngHeader(0, 5), grpc::StatusCode::INVALID_ARGUMENT, "0x5"},
      {"decompression bomb (header 100000x100000)", PngHeader(100000, 100000), grpc::StatusCode::RESOURCE_EXHAUSTED, "header declares 100000x100000"},
      {"TIFF bomb (IFD repeats its size tags)", TiffBombHeader(), grpc::StatusCode::INVALID_ARGUMENT, "repeats tag 256"},
      {"over the pixel limit (real 80x80 image)", Png(80, 80), grpc::StatusCode::RESOURCE_EXHAUSTED, "pixel limit"},
      {"1x1 image", Png(1, 1), grpc::StatusCode::OK, ""},
      {"grayscale PNG (becomes RGB)", Encoded(gray, ".png"), grpc::StatusCode::OK, ""},
      {"RGBA PNG (alpha dropped)", Encoded(rgba, ".png"), grpc::StatusCode::OK, ""},
      {"16-bit PNG (scaled to 8-bit)", Encoded(deep, ".png"), grpc::StatusCode::OK, ""},
      {"gray+alpha PNG (two channels, becomes RGB)", gray_alpha, grpc::StatusCode::OK, ""},
  };
  int n = 0;
  for (const Case& c : cases) {
    v1::SendReply reply;
    const grpc::Status s = Send(Request("case" + std::to_string(++n), c.image), &reply);
    EXPECT_EQ(s.error_code(), c.code) << c.what << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.message_part), std::string::npos) << c.what << ": " << s.error_message();
    ExpectStillServing();
  }
  // The 16-bit image was accepted and its reconstruction stored as an 8-bit PNG of the same size.
  absl::StatusOr<at::Tensor> stored = LoadImageRgb(out_dir_ + "/case14.png");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->size(1), 8);
  EXPECT_EQ(stored->size(2), 8);
}

TEST_F(BadInputTest, BadPacketsOnTheReceiverStreamGetTheirCodeAndTheStreamCarriesOn) {
  auto stub = v1::Receiver::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(receiver_.port),
                                                        grpc::InsecureChannelCredentials()));
  PacketEncoder encoder(mae_, masker_);
  EncodeOptions eo;
  eo.selection.mode = SelectionPolicy::Mode::kTopK;
  eo.selection.keep_ratio = 0.5;
  eo.precision = Precision::kFp32;
  const v1::Packet good = ToProto(encoder.Encode(at::rand({3, 8, 8}), "p", eo)->packet);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Case {
    const char* what;
    v1::Packet packet;
    grpc::StatusCode code;
  };
  std::vector<Case> cases;
  auto add = [&](const char* what, grpc::StatusCode code, auto mutate) {
    v1::Packet p = good;
    mutate(p);
    cases.push_back({what, p, code});
  };
  add("wrong feature width", grpc::StatusCode::FAILED_PRECONDITION, [](v1::Packet& p) { p.set_feature_dim(p.feature_dim() * 2); });
  add("wrong bitmap length", grpc::StatusCode::INVALID_ARGUMENT, [](v1::Packet& p) { p.mutable_tiles(0)->mutable_keep_bitmap()->append("x"); });
  add("keep count not matching the payload", grpc::StatusCode::INVALID_ARGUMENT, [](v1::Packet& p) {
    std::string* bits = p.mutable_tiles(0)->mutable_keep_bitmap();
    (*bits)[0] = static_cast<char>((*bits)[0] ^ 0x01);  // one patch more or less than the tokens
  });
  add("features truncated", grpc::StatusCode::INVALID_ARGUMENT, [](v1::Packet& p) { p.mutable_tiles(0)->mutable_features()->pop_back(); });
  add("tile count not matching the size", grpc::StatusCode::INVALID_ARGUMENT, [](v1::Packet& p) { p.set_width(9); });
  add("tile size not the model's", grpc::StatusCode::FAILED_PRECONDITION, [](v1::Packet& p) { p.set_tile_size(16); });
  add("negative height", grpc::StatusCode::INVALID_ARGUMENT, [](v1::Packet& p) { p.set_height(-8); });
  add("over the receiver's pixel limit", grpc::StatusCode::RESOURCE_EXHAUSTED, [](v1::Packet& p) {
    p.set_height(1 << 20);
    p.set_width(1 << 20);
  });
  add("NaN feature", grpc::StatusCode::INVALID_ARGUMENT, [&](v1::Packet& p) { std::memcpy(p.mutable_tiles(0)->mutable_features()->data() + 4, &nan, 4); });
  add("unknown payload kind", grpc::StatusCode::INVALID_ARGUMENT, [](v1::Packet& p) { p.set_payload(static_cast<v1::PayloadKind>(9)); });
  add("unknown precision", grpc::StatusCode::INVALID_ARGUMENT, [](v1::Packet& p) { p.set_precision(static_cast<v1::Precision>(7)); });
  add("another model's fingerprint", grpc::StatusCode::FAILED_PRECONDITION, [](v1::Packet& p) { p.set_model_fingerprint("0123456789abcdef"); });
  add("id with a path", grpc::StatusCode::INVALID_ARGUMENT, [](v1::Packet& p) { p.set_id("../outside"); });
  add("pixels in a features packet", grpc::StatusCode::INVALID_ARGUMENT, [](v1::Packet& p) { p.mutable_tiles(0)->set_pixels("abc"); });

  grpc::ClientContext ctx;
  auto stream = stub->Deliver(&ctx);
  int n = 0;
  for (const Case& c : cases) {
    v1::Ack ack;
    ASSERT_TRUE(stream->Write(c.packet)) << c.what;
    ASSERT_TRUE(stream->Read(&ack)) << c.what;
    EXPECT_EQ(ack.code(), static_cast<int>(c.code)) << c.what << ": " << ack.message();
    EXPECT_FALSE(ack.message().empty()) << c.what;
    v1::Packet next = good;
    next.set_id("after" + std::to_string(++n));
    ASSERT_TRUE(stream->Write(next));
    ASSERT_TRUE(stream->Read(&ack));
    EXPECT_EQ(ack.code(), 0) << "after " << c.what << ": " << ack.message();
  }
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(out_dir_).parent_path() / "outside.png"));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

// An id already stored is not replaced (ALREADY_EXISTS, file unchanged). A resend of the SAME
// packet after a lost ack is acknowledged with what is on disk; the reproduction — a
// packet with the stored id and the receiver's fingerprint but other pixels, marked attempt 2 —
// is refused and gets nothing of the stored image.
TEST_F(BadInputTest, DuplicateIdsNeverReplaceOrHandOutAnAcceptedImage) {
  v1::SendReply first, second;
  ASSERT_TRUE(Send(Request("victim-1", Png(8, 8)), &first).ok());
  const std::string stored = ReadAll(out_dir_ + "/victim-1.png");
  grpc::Status s = Send(Request("victim-1", Png(8, 8)), &second);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_EQ(ReadAll(out_dir_ + "/victim-1.png"), stored);

  PacketEncoder encoder(mae_, masker_);
  EncodeOptions eo;
  eo.selection.mode = SelectionPolicy::Mode::kTopK;
  eo.selection.keep_ratio = 0.5;
  v1::Packet intruder = ToProto(encoder.Encode(at::rand({3, 8, 8}), "victim-1", eo)->packet);
  intruder.set_attempt(2);
  intruder.set_want_reconstruction(true);
  v1::Ack refused = receiver_service_->Handle(intruder);
  EXPECT_EQ(refused.code(), static_cast<int>(absl::StatusCode::kAlreadyExists)) << refused.message();
  EXPECT_NE(refused.message().find("other content"), std::string::npos) << refused.message();
  EXPECT_TRUE(refused.reconstruction_png().empty());
  EXPECT_EQ(ReadAll(out_dir_ + "/victim-1.png"), stored);

  // The same packet twice: the second (a resend) is acknowledged with the stored bytes.
  v1::Packet mine = ToProto(encoder.Encode(at::rand({3, 8, 8}), "mine", eo)->packet);
  ASSERT_EQ(receiver_service_->Handle(mine).code(), 0);
  const std::string mine_stored = ReadAll(out_dir_ + "/mine.png");
  mine.set_attempt(2);
  mine.set_want_reconstruction(true);
  v1::Ack resent = receiver_service_->Handle(mine);
  EXPECT_EQ(resent.code(), 0) << resent.message();
  EXPECT_EQ(resent.reconstruction_png(), mine_stored);
  ExpectStillServing();
}

// A receiver that acknowledges every packet under another id.
class WrongIdReceiver final : public v1::Receiver::Service {
 public:
  grpc::Status Deliver(grpc::ServerContext*, grpc::ServerReaderWriter<v1::Ack, v1::Packet>* stream) override {
    v1::Packet p;
    while (stream->Read(&p)) {
      v1::Ack ack;
      ack.set_id("someone-else");
      if (!stream->Write(ack)) break;
    }
    return grpc::Status::OK;
  }
};

// Acks are matched by id, not only by order: an ack for another id is never taken as success.
TEST_F(BadInputTest, AnAckForAnotherIdIsNeverTakenAsThisRequestsSuccess) {
  TearDown();
  WrongIdReceiver wrong;
  ServeAsReceiver(&wrong);
  StartSender({});
  v1::SendReply reply;
  grpc::Status s = Send(Request("mine", Png(8, 8)), &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_NE(s.error_message().find("ack for 'someone-else' while 'mine' was awaited"), std::string::npos)
      << s.error_message();
  TearDown();
}

// Connections that die mid-message (raw bytes, then close) and calls the client cancels leave
// the daemons serving.
TEST_F(BadInputTest, CutStreamsAndCancelledCallsLeaveTheDaemonsServing) {
  for (int port : {sender_.port, receiver_.port}) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    // The HTTP/2 preface, then a DATA frame header promising 64 kB that never arrives.
    const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    const std::string frame("\x01\x00\x00\x00\x00\x00\x00\x00\x01partial", 16);
    ASSERT_EQ(write(fd, preface.data(), preface.size()), static_cast<ssize_t>(preface.size()));
    ASSERT_EQ(write(fd, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
    close(fd);
  }
  ExpectStillServing();

  // A streaming call cut after half a message: the client cancels mid-stream.
  {
    grpc::ClientContext ctx;
    auto stream = stub_->SendStream(&ctx);
    ASSERT_TRUE(stream->Write(Request("stream-1", Png(8, 8))));
    ctx.TryCancel();
    v1::SendReply reply;
    while (stream->Read(&reply)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // A unary call cancelled while the sender works on it.
  {
    grpc::ClientContext ctx;
    v1::SendReply reply;
    std::thread cancel([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ctx.TryCancel();
    });
    const grpc::Status s = stub_->Send(&ctx, Request("cancelled", Png(64, 64)), &reply);
    cancel.join();
    EXPECT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::CANCELLED) << s.error_message();
  }
  ExpectStillServing();
}

}  // namespace
}  // namespace mt::server
