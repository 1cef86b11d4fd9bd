// Chunked delivery (server/common/packet_chunks, core/codec/chunk_assembler): a packet over the
// receiver's message limit travels in chunks instead of ending the shared stream; one over
// --max_packet_bytes is refused before it is sent; bad chunk sequences are refused one ack each
// while the stream serves the next packet; and a write blocked on a stalled receiver is cancelled
// at the caller's deadline instead of holding the link forever.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "server/common/packet_chunks.h"
#include "server/sender/receiver_link.h"
#include "tests/server/loopback.h"

namespace mt::server {
namespace {

class ChunkedDeliveryTest : public EndToEndTest {
 protected:
  // 64 tiles of fp32 features, every patch kept: ~70 kB on the wire.
  static v1::SendRequest Big(const std::string& id) {
    v1::SendRequest big = Request(id, Png(60, 60));
    big.set_payload(v1::FEATURES);
    big.set_precision(v1::FP32);
    big.mutable_selection()->set_keep_ratio(1.0);
    return big;
  }
  void Restart(int64_t max_message_bytes, int64_t max_packet_bytes) {
    TearDown();
    receiver_max_message_bytes_ = max_message_bytes;
    max_packet_bytes_ = max_packet_bytes;
    StartReceiver(mae_, "127.0.0.1:0");
    StartSender({});
  }
};

TEST_F(ChunkedDeliveryTest, APacketOverTheReceiversMessageLimitTravelsInChunksAndIsStored) {
  Restart(20000, int64_t{256} << 20);
  ExpectStillServing();
  v1::SendReply reply;
  grpc::Status s = Send(Big("big"), &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(reply.wire_bytes(), 3 * 20000) << "the packet should need several chunks";
  EXPECT_TRUE(std::filesystem::exists(out_dir_ + "/big.png"));
  EXPECT_GT(reply.psnr_db(), 0);
  EXPECT_EQ(link_->State(), "127.0.0.1:" + std::to_string(receiver_.port) + ": connected");
  ExpectStillServing();
}

// A keep ratio commits to a packet size before any model runs: one over the limit costs no
// compute. A threshold may keep anything: its packet is measured after encoding, before sending.
TEST_F(ChunkedDeliveryTest, APacketOverMaxPacketBytesIsRefusedBeforeItIsSent) {
  Restart(20000, 50000);
  v1::SendReply reply;
  grpc::Status s = Send(Big("huge"), &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("over the receiver's packet limit of 50000: refused before encoding"),
            std::string::npos)
      << s.error_message();
  v1::SendRequest threshold = Big("huge-threshold");
  threshold.mutable_selection()->set_threshold(0.0);  // keeps every patch
  s = Send(threshold, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("bytes, over the receiver's packet limit of 50000 (--max_packet_bytes"),
            std::string::npos)
      << s.error_message();
  EXPECT_FALSE(std::filesystem::exists(out_dir_ + "/huge.png"));
  EXPECT_FALSE(std::filesystem::exists(out_dir_ + "/huge-threshold.png"));
  ExpectStillServing();
}

TEST_F(ChunkedDeliveryTest, TheReceiverRefusesBadChunkSequencesOneAckEachAndServesTheNextPacket) {
  Restart(20000, 100000);
  PacketEncoder encoder(mae_, masker_);
  EncodeOptions eo;
  eo.selection.mode = SelectionPolicy::Mode::kTopK;
  eo.selection.keep_ratio = 1.0;
  eo.precision = Precision::kFp32;
  v1::Packet big = ToProto(encoder.Encode(at::rand({3, 60, 60}), "a", eo)->packet);
  const std::vector<v1::Packet> a = SplitIntoChunks(big, 20000);
  ASSERT_GE(a.size(), 3u);
  big.set_id("b");
  const std::vector<v1::Packet> b = SplitIntoChunks(big, 20000);
  v1::Packet over = a[0];  // declares more than --max_packet_bytes
  over.set_id("c");
  over.set_chunk_total_bytes(300000);
  v1::Packet garbage;  // one chunk whose bytes are no packet
  garbage.set_id("d");
  garbage.set_chunk_count(1);
  garbage.set_chunk_total_bytes(3);
  garbage.set_chunk("\xff\xff\xff");
  v1::Packet small = ToProto(encoder.Encode(at::rand({3, 8, 8}), "e", eo)->packet);
  EXPECT_TRUE(SplitIntoChunks(small, 20000).empty()) << "a packet that fits is written as it is";
  big.set_id("f");  // chunks named "g" that rebuild f's packet
  std::vector<v1::Packet> g = SplitIntoChunks(big, 20000);
  for (v1::Packet& c : g) c.set_id("g");

  auto stub = v1::Receiver::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(receiver_.port),
                                                        grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  auto stream = stub->Deliver(&ctx);
  std::vector<v1::Packet> writes = {a[0], a[1]};  // a stops half way: b begins
  writes.insert(writes.end(), b.begin(), b.end());
  writes.push_back(over);
  writes.push_back(a[1]);  // the rest of c's chunks (skipped without another ack)...
  writes.back().set_id("c");
  writes.back().set_chunk_total_bytes(300000);
  writes.push_back(garbage);
  writes.insert(writes.end(), g.begin(), g.end());
  writes.push_back(small);
  for (const v1::Packet& w : writes) ASSERT_TRUE(stream->Write(w));
  struct Expected {
    std::string id;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Expected> expected = {
      {"a", absl::StatusCode::kInvalidArgument, "never came (the next packet began)"},
      {"b", absl::StatusCode::kOk, ""},
      {"c", absl::StatusCode::kResourceExhausted, "300000 bytes, over the receiver's limit of 100000"},
      {"d", absl::StatusCode::kInvalidArgument, "the chunks of 'd' do not rebuild a packet"},
      {"g", absl::StatusCode::kInvalidArgument, "the chunks of 'g' rebuild a packet for 'f'"},
      {"e", absl::StatusCode::kOk, ""},
  };
  for (const Expected& e : expected) {
    v1::Ack ack;
    ASSERT_TRUE(stream->Read(&ack)) << e.id;
    EXPECT_EQ(ack.id(), e.id);
    EXPECT_EQ(ack.code(), static_cast<int>(e.code)) << e.id << ": " << ack.message();
    EXPECT_NE(ack.message().find(e.message), std::string::npos) << e.id << ": " << ack.message();
  }
  EXPECT_TRUE(std::filesystem::exists(out_dir_ + "/b.png"));
  EXPECT_TRUE(std::filesystem::exists(out_dir_ + "/e.png"));
  EXPECT_FALSE(std::filesystem::exists(out_dir_ + "/a.png"));
  EXPECT_FALSE(std::filesystem::exists(out_dir_ + "/f.png"));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

// A receiver that accepts the stream and never reads it (a stalled process).
class StalledReceiver final : public v1::Receiver::Service {
 public:
  grpc::Status Deliver(grpc::ServerContext* ctx, grpc::ServerReaderWriter<v1::Ack, v1::Packet>*) override {
    while (!ctx->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return grpc::Status::OK;
  }
};

TEST_F(ChunkedDeliveryTest, AWriteBlockedOnAStalledReceiverEndsAtTheCallersDeadline) {
  TearDown();
  StalledReceiver stalled;
  receiver_max_message_bytes_ = 2 << 20;
  ServeAsReceiver(&stalled);
  LinkOptions lo;
  lo.max_message_bytes = 1 << 20;
  ReceiverLink link("stalled", grpc::CreateChannel("127.0.0.1:" + std::to_string(receiver_.port),
                                                   grpc::InsecureChannelCredentials()), lo);
  v1::Packet packet;
  packet.set_id("stuck");
  packet.set_latent(std::string(size_t{48} << 20, 'x'));  // 48 chunks: far past any flow-control window
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<v1::Ack> ack = link.DeliverOnce(packet, std::chrono::system_clock::now() + std::chrono::seconds(1));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kDeadlineExceeded) << ack.status();
  EXPECT_NE(ack.status().message().find("'stuck'"), std::string::npos) << ack.status();
  EXPECT_LT(seconds, 5.0) << "the blocked write should end at the 1 s deadline";
  // The link is usable again at once: the cancelled stream was dropped before the call returned, so
  // the next delivery gets a fresh stream (which also stalls, promptly) rather than the dead one.
  packet.set_latent("small");
  absl::StatusOr<v1::Ack> again =
      link.DeliverOnce(packet, std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kDeadlineExceeded) << again.status();
  receiver_.server->Shutdown(std::chrono::system_clock::now());
  receiver_.server.reset();
}

}  // namespace
}  // namespace mt::server
