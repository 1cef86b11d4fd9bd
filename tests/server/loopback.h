// Loopback fixture for service tests: a ReceiverService and a SenderService (small random
// models) on 127.0.0.1 ephemeral ports, joined by a ReceiverPool of one receiver, writing to a temp folder.
#pragma once

#include <ATen/ATen.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/io/image_io.h"
#include "server/common/daemon.h"
#include "server/common/packet_proto.h"
#include "server/common/security.h"
#include "server/receiver/receiver_service.h"
#include "server/sender/sender_service.h"
#include "tests/test_util.h"

namespace mt::server {

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::manual_seed(21);
    mae_ = MaskedAutoencoder(test::TinyMaeOptions());
    masker_ = Masker(test::TinyMaskerOptions());
    out_dir_ = test::TempDir();
    StartReceiver(mae_, "127.0.0.1:0");
    StartSender({});
  }
  void TearDown() override {
    if (sender_.server) sender_.server->Shutdown();
    sender_.server.reset();
    sender_service_.reset();
    link_.reset();  // closes the Deliver stream, so the receiver has nothing in flight
    if (receiver_.server) receiver_.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    receiver_.server.reset();
  }

  // `codec` (optional) serves payload latent, as the daemons' --codec_checkpoint does.
  void StartReceiver(MaskedAutoencoder mae, const std::string& listen, const std::string& token = "",
                     std::shared_ptr<const TileCodec> codec = nullptr) {
    ReceiverConfig rc;
    rc.output_dir = out_dir_;
    rc.token = token;
    rc.max_packet_bytes = max_packet_bytes_;
    rc.batching = receiver_batching_;
    receiver_service_ = std::make_unique<ReceiverService>(
        std::make_shared<PacketDecoder>(mae, 1 << 20, ComputePrecision::kFloat32, std::move(codec)), rc);
    ServeAsReceiver(receiver_service_.get(), listen);
  }
  // Serves `service` (the receiver, or a stand-in for one) as receiver_, within receiver_max_message_bytes_.
  void ServeAsReceiver(grpc::Service* service, const std::string& listen = "127.0.0.1:0") {
    ServerOptions o;
    o.listen = listen;
    o.max_message_bytes = receiver_max_message_bytes_;
    absl::StatusOr<RunningServer> r = StartServer(o, {service});
    ASSERT_TRUE(r.ok()) << r.status();
    receiver_ = std::move(*r);
  }
  void StopReceiver() {
    receiver_.server->Shutdown(std::chrono::system_clock::now());
    receiver_.server->Wait();
    receiver_.server.reset();
  }
  void StartSender(SenderConfig sc, int64_t max_message_bytes = 1 << 20, const std::string& receiver_token = "",
                   std::shared_ptr<const TileCodec> codec = nullptr) {
    sc.max_pixels = sc.max_pixels == (16 << 20) ? 4096 : sc.max_pixels;
    sc.max_packet_bytes = max_packet_bytes_;
    sc.default_deadline = std::chrono::milliseconds(5000);
    LinkOptions lo;
    lo.token = receiver_token;
    lo.connect_timeout = std::chrono::milliseconds(500);
    lo.max_message_bytes = receiver_max_message_bytes_;
    lo.max_packet_bytes = max_packet_bytes_;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
    PoolOptions po;
    po.link = lo;
    link_ = *ReceiverPool::Create(
        "127.0.0.1:" + std::to_string(receiver_.port),
        [args](const std::string& target, const std::string&) {
          return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
        },
        po);
    sender_service_ = std::make_unique<SenderService>(
        std::make_shared<PacketEncoder>(mae_, masker_, ComputePrecision::kFloat32, std::move(codec)), link_, sc);
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.max_message_bytes = max_message_bytes;
    absl::StatusOr<RunningServer> r = StartServer(o, {sender_service_.get()});
    ASSERT_TRUE(r.ok()) << r.status();
    sender_ = std::move(*r);
    stub_ = v1::Sender::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(sender_.port),
                                                    grpc::InsecureChannelCredentials()));
  }

  static std::string Png(int64_t h, int64_t w) {
    return *EncodePng(at::randint(0, 256, {3, h, w}).to(at::kFloat) / 255.0);
  }
  static v1::SendRequest Request(const std::string& id, const std::string& image) {
    v1::SendRequest r;
    r.set_id(id);
    r.set_image(image);
    r.mutable_selection()->set_keep_ratio(0.25);
    r.set_payload(v1::FEATURES_AND_PIXELS);
    r.set_precision(v1::FP16);
    r.set_return_reconstruction(true);
    r.set_measure_quality(true);
    return r;
  }
  grpc::Status Send(const v1::SendRequest& req, v1::SendReply* reply, const std::string& token = "",
                    int deadline_ms = 10000) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
    AttachToken(&ctx, token);
    return stub_->Send(&ctx, req, reply);
  }
  // The daemons still serve a good request.
  void ExpectStillServing() {
    v1::SendReply reply;
    grpc::Status s = Send(Request("good" + std::to_string(++good_count_), Png(8, 8)), &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  MaskedAutoencoder mae_{nullptr};
  Masker masker_{nullptr};
  std::string out_dir_;
  std::unique_ptr<ReceiverService> receiver_service_;
  std::unique_ptr<SenderService> sender_service_;
  std::shared_ptr<ReceiverPool> link_;
  RunningServer receiver_, sender_;
  std::unique_ptr<v1::Sender::Stub> stub_;
  int good_count_ = 0;
  int64_t receiver_max_message_bytes_ = 64 << 20;  // the receiver's limit, and the link's
  int64_t max_packet_bytes_ = int64_t{256} << 20;  // both daemons' --max_packet_bytes
  BatchingOptions receiver_batching_ = ReceiverConfig().batching;
};

}  // namespace mt::server
