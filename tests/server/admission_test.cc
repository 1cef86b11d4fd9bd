// Admission on both daemons. Deadlines across the receiver hop (mt.v1.Packet.ack_wait_ms): the sender tells the receiver
// how long it still waits for each packet, and the receiver answers DEADLINE_EXCEEDED, without
// decoding or storing, a packet whose wait ran out in its queue; cancels (mt.v1.Packet.cancel)
// likewise for a packet whose client went away.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "core/pipeline/packet_encoder.h"
#include "server/common/deliver_conventions.h"
#include "tests/server/loopback.h"

namespace mt::server {
namespace {

// The receiver's batcher holds a lone packet this long, waiting for company: a packet whose
// sender waits less is past its deadline when its batch starts.
constexpr auto kBatchDelay = std::chrono::milliseconds(600);

class ReceiverDeadlineTest : public EndToEndTest {
 protected:
  void SetUp() override {
    EndToEndTest::SetUp();
    TearDown();
    receiver_batching_.max_delay = kBatchDelay;
    StartReceiver(mae_, "127.0.0.1:0");
    StartSender(sender_config_);
  }
  SenderConfig sender_config_;  // a subclass's sender settings, set before SetUp
  v1::Packet Packet(const std::string& id, int64_t ack_wait_ms) {
    EncodeOptions eo;
    eo.selection.mode = SelectionPolicy::Mode::kTopK;
    eo.selection.keep_ratio = 0.5;
    v1::Packet p = ToProto(PacketEncoder(mae_, masker_).Encode(at::rand({3, 8, 8}), id, eo)->packet);
    p.set_ack_wait_ms(ack_wait_ms);
    return p;
  }
};

TEST_F(ReceiverDeadlineTest, APacketWhoseWaitRanOutInTheQueueIsRefusedUndecodedAndTheNextIsStored) {
  auto stub = v1::Receiver::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(receiver_.port),
                                                        grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  auto stream = stub->Deliver(&ctx);
  struct Case {
    const char* id;
    int64_t ack_wait_ms;
    bool stored;
  };
  // 100 ms < the 600 ms batch delay < 30 s; 0 is no limit (senders older than this field).
  for (const Case& c : {Case{"late", 100, false}, Case{"on-time", 30000, true}, Case{"no-limit", 0, true}}) {
    ASSERT_TRUE(stream->Write(Packet(c.id, c.ack_wait_ms))) << c.id;
    v1::Ack ack;
    ASSERT_TRUE(stream->Read(&ack)) << c.id;
    EXPECT_EQ(ack.id(), c.id);
    const bool png = std::filesystem::exists(out_dir_ + "/" + c.id + ".png");
    if (c.stored) {
      EXPECT_EQ(ack.code(), 0) << c.id << ": " << ack.message();
      EXPECT_TRUE(png) << c.id;
    } else {
      EXPECT_EQ(ack.code(), static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED)) << ack.message();
      EXPECT_NE(ack.message().find("past its sender's deadline (100 ms"), std::string::npos) << ack.message();
      EXPECT_FALSE(png) << c.id;
    }
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

// Through the daemons: a client deadline shorter than the receiver's queueing ends the call
// with DEADLINE_EXCEEDED, and the receiver never writes the image the sender gave up on.
TEST_F(ReceiverDeadlineTest, TheSendersDeadlineTravelsSoTheReceiverDropsWhatNobodyAwaits) {
  ExpectStillServing();  // connects the link, so the deadline below is not spent connecting
  v1::SendReply reply;
  grpc::Status s = Send(Request("abandoned", Png(8, 8)), &reply, "", 300);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  std::this_thread::sleep_for(kBatchDelay + std::chrono::milliseconds(400));
  EXPECT_FALSE(std::filesystem::exists(out_dir_ + "/abandoned.png"));
  ExpectStillServing();
}

// mt.v1.Packet.cancel on a raw stream: the receiver announces it at once, drops the cancelled
// packet (CANCELLED, never written) and acks nothing for the cancel itself.
TEST_F(ReceiverDeadlineTest, ACancelledPacketIsRefusedUndecodedAndTheCancelGetsNoAck) {
  auto stub = v1::Receiver::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(receiver_.port),
                                                        grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  auto stream = stub->Deliver(&ctx);
  stream->WaitForInitialMetadata();  // before any packet: a sender may cancel before any ack
  EXPECT_TRUE(ReceiverAcceptsCancel(ctx));
  v1::Packet cancel;
  cancel.set_id("dropped");
  cancel.set_cancel(true);
  v1::Packet stray = cancel;
  stray.set_id("never-sent");  // a cancel for nothing in flight is ignored
  // All within the 600 ms the batcher holds the first packet.
  for (const v1::Packet& p : {Packet("dropped", 30000), cancel, stray, Packet("kept", 30000)})
    ASSERT_TRUE(stream->Write(p)) << p.id();
  stream->WritesDone();
  std::map<std::string, v1::Ack> acks;
  for (v1::Ack ack; stream->Read(&ack);) acks[ack.id()] = ack;
  EXPECT_TRUE(stream->Finish().ok());
  ASSERT_EQ(acks.size(), 2u) << "one ack per packet, none for a cancel";
  EXPECT_EQ(acks["dropped"].code(), static_cast<int>(grpc::StatusCode::CANCELLED)) << acks["dropped"].message();
  EXPECT_NE(acks["dropped"].message().find("'dropped' was cancelled by its sender in its queue: not decoded"),
            std::string::npos) << acks["dropped"].message();
  EXPECT_FALSE(std::filesystem::exists(out_dir_ + "/dropped.png"));
  EXPECT_EQ(acks["kept"].code(), 0) << acks["kept"].message();
  EXPECT_TRUE(std::filesystem::exists(out_dir_ + "/kept.png"));
}

// Through the daemons: a client that cancels while the receiver still holds its packet reaches
// the receiver (without the cancel only the packet's ack_wait_ms would, here 10 s: it would be stored).
TEST_F(ReceiverDeadlineTest, AClientsCancelTravelsSoTheReceiverDropsThePacket) {
  ExpectStillServing();  // connects the link and learns that the receiver accepts cancels
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));  // sent, waiting in the receiver
    ctx.TryCancel();
  });
  v1::SendReply reply;
  grpc::Status s = stub_->Send(&ctx, Request("given-up", Png(8, 8)), &reply);
  canceller.join();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED) << s.error_message();
  std::this_thread::sleep_for(kBatchDelay + std::chrono::milliseconds(400));
  EXPECT_FALSE(std::filesystem::exists(out_dir_ + "/given-up.png"));
  ExpectStillServing();
}

// What the sender writes: the time left before its deadline, once per write.
class WaitRecorder final : public v1::Receiver::Service {
 public:
  grpc::Status Deliver(grpc::ServerContext*, grpc::ServerReaderWriter<v1::Ack, v1::Packet>* stream) override {
    v1::Packet p;
    while (stream->Read(&p)) {
      ack_wait_ms = p.ack_wait_ms();
      v1::Ack ack;
      ack.set_id(p.id());
      ack.set_code(static_cast<int>(grpc::StatusCode::INTERNAL));  // the sender then stops
      ack.set_message("recorded");
      if (!stream->Write(ack)) break;
    }
    return grpc::Status::OK;
  }
  std::atomic<int64_t> ack_wait_ms{-1};
};

TEST_F(ReceiverDeadlineTest, TheSenderWritesTheTimeLeftBeforeItsDeadline) {
  TearDown();
  WaitRecorder recorder;
  ServeAsReceiver(&recorder);
  StartSender({});
  v1::SendReply reply;
  grpc::Status s = Send(Request("timed", Png(8, 8)), &reply, "", 4000);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL) << s.error_message();
  EXPECT_GT(recorder.ack_wait_ms, 2000) << "connecting and encoding take far less than 2 s";
  EXPECT_LE(recorder.ack_wait_ms, 4000);
  sender_.server->Shutdown();
  sender_.server.reset();
  receiver_.server->Shutdown(std::chrono::system_clock::now());
  receiver_.server.reset();
}

}  // namespace
}  // namespace mt::server

namespace mt::server {
namespace {

// --max_request_gflop on both daemons: a request or packet over the budget is refused before
// any model runs, with its cost in the message; a cheaper one is served.
class CostBudgetTest : public EndToEndTest {};

TEST_F(CostBudgetTest, ASenderRefusesARequestOverItsBudgetAndServesTheNext) {
  TearDown();
  StartReceiver(mae_, "127.0.0.1:0");
  SenderConfig sc;
  // Tiny models: a 64×64 features request (64 tiles of 8) costs ~0.07 GFLOP; an 8×8 one 1/64 of it.
  sc.max_request_gflop = 0.002;
  StartSender(sc);
  v1::SendReply reply;
  v1::SendRequest big = Request("costly", Png(64, 64));
  big.set_payload(v1::FEATURES);
  grpc::Status s = Send(big, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("request 'costly' would cost"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("--max_request_gflop"), std::string::npos) << s.error_message();
  EXPECT_FALSE(std::filesystem::exists(out_dir_ + "/costly.png"));
  ExpectStillServing();  // 8×8: one tile, within the budget
}

TEST_F(CostBudgetTest, AReceiverRefusesAPacketOverItsBudgetUndecoded) {
  TearDown();
  receiver_service_.reset();
  ReceiverConfig rc;
  rc.output_dir = out_dir_;
  rc.max_request_gflop = 1e-3;  // decoder work: a 64×64 packet ~8e-3 GFLOP, an 8×8 one ~1.3e-4
  ReceiverService budgeted(std::make_shared<PacketDecoder>(mae_, 1 << 20), rc);
  ServeAsReceiver(&budgeted);
  auto stub = v1::Receiver::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(receiver_.port),
                                                        grpc::InsecureChannelCredentials()));
  EncodeOptions eo;
  eo.selection.mode = SelectionPolicy::Mode::kTopK;
  eo.selection.keep_ratio = 0.5;
  grpc::ClientContext ctx;
  auto stream = stub->Deliver(&ctx);
  v1::Ack ack;
  ASSERT_TRUE(stream->Write(ToProto(PacketEncoder(mae_, masker_).Encode(at::rand({3, 64, 64}), "heavy", eo)->packet)));
  ASSERT_TRUE(stream->Read(&ack));
  EXPECT_EQ(ack.code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED)) << ack.message();
  EXPECT_NE(ack.message().find("packet 'heavy' would cost"), std::string::npos) << ack.message();
  ASSERT_TRUE(stream->Write(ToProto(PacketEncoder(mae_, masker_).Encode(at::rand({3, 8, 8}), "light", eo)->packet)));
  ASSERT_TRUE(stream->Read(&ack));
  EXPECT_EQ(ack.code(), 0) << ack.message();
  EXPECT_FALSE(std::filesystem::exists(out_dir_ + "/heavy.png"));
  EXPECT_TRUE(std::filesystem::exists(out_dir_ + "/light.png"));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  receiver_.server->Shutdown(std::chrono::system_clock::now());
  receiver_.server.reset();
}

}  // namespace
}  // namespace mt::server

namespace mt::server {
namespace {

// --max_inflight_pixels: pixels of requests between header check and reply. While one 8×8
// request waits for the receiver (its batcher holds packets 600 ms), a second one that would take
// the total past 100 pixels is refused before decoding; once the first is answered it is served.
class InflightPixelsTest : public ReceiverDeadlineTest {
 protected:
  InflightPixelsTest() { sender_config_.max_inflight_pixels = 100; }
};

TEST_F(InflightPixelsTest, ARequestPastThePixelsInFlightIsRefusedBeforeDecodingAndServedLater) {
  v1::SendReply first_reply;
  grpc::Status first;
  std::thread t([&] { first = Send(Request("first", Png(8, 8)), &first_reply); });
  std::this_thread::sleep_for(kBatchDelay / 3);  // "first" now waits for the receiver
  v1::SendReply reply;
  grpc::Status s = Send(Request("second", Png(8, 8)), &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("64 of 100 in flight, 64 more asked (--max_inflight_pixels)"), std::string::npos)
      << s.error_message();
  t.join();
  EXPECT_TRUE(first.ok()) << first.error_message();
  s = Send(Request("second", Png(8, 8)), &reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

}  // namespace
}  // namespace mt::server
