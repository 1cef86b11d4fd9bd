// ReceiverPool and --receiver parsing, against fake receivers that acknowledge (or hold) packets:
// spreading over receivers, skipping one that is gone, resending a packet whose stream broke
// with it in flight to another receiver, and dns: names resolved to every address.
#include "server/sender/receiver_pool.h"

#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "server/common/deliver_conventions.h"
#include "server/common/daemon.h"

namespace mt::server {
namespace {

// Acknowledges every packet with its own id, or (holding) reads packets and never answers.
class FakeReceiver final : public v1::Receiver::Service {
 public:
  FakeReceiver(std::string name, bool holding) : name_(std::move(name)), holding_(holding) {}
  grpc::Status Deliver(grpc::ServerContext* context, grpc::ServerReaderWriter<v1::Ack, v1::Packet>* stream) override {
    v1::Packet p;
    while (stream->Read(&p)) {
      ++received;
      last_attempt = p.attempt();
      if (holding_) continue;
      v1::Ack ack;
      ack.set_id(p.id());
      ack.set_receiver(name_);
      if (!stream->Write(ack)) break;
    }
    return grpc::Status::OK;
  }
  std::atomic<int> received{0};
  std::atomic<int> last_attempt{0};

 private:
  std::string name_;
  bool holding_;
};

// Reads two packets, then acknowledges them in reverse order (as a receiver does whose first
// packet is a big photo on the low-priority lane); records whether the sender asked for that.
class ReversingReceiver final : public v1::Receiver::Service {
 public:
  grpc::Status Deliver(grpc::ServerContext* context, grpc::ServerReaderWriter<v1::Ack, v1::Packet>* stream) override {
    asked_for_completion_order = AcksInCompletionOrder(*context);
    std::vector<std::string> ids;
    v1::Packet p;
    while (ids.size() < 2 && stream->Read(&p)) ids.push_back(p.id());
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
      v1::Ack ack;
      ack.set_id(*it);
      if (!stream->Write(ack)) break;
    }
    while (stream->Read(&p)) {
    }
    return grpc::Status::OK;
  }
  std::atomic<bool> asked_for_completion_order{false};
};

RunningServer Start(FakeReceiver* service, int port = 0) {
  ServerOptions o;
  o.listen = "127.0.0.1:" + std::to_string(port);
  absl::StatusOr<RunningServer> r = StartServer(o, {service});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::move(*r) : RunningServer{};
}

std::shared_ptr<ReceiverPool> Pool(const std::string& receivers, std::vector<std::string>* tls_names = nullptr) {
  PoolOptions po;
  po.link.connect_timeout = std::chrono::milliseconds(300);
  po.down_for = std::chrono::milliseconds(60000);  // a failed receiver stays skipped for the whole test
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  absl::StatusOr<std::shared_ptr<ReceiverPool>> pool = ReceiverPool::Create(
      receivers,
      [args, tls_names](const std::string& target, const std::string& tls_name) {
        if (tls_names) tls_names->push_back(tls_name);
        return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
      },
      po);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *pool : nullptr;
}

v1::Packet Packet(const std::string& id) {
  v1::Packet p;
  p.set_id(id);
  return p;
}

std::chrono::system_clock::time_point In(int ms) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(ms);
}

std::string Addr(const RunningServer& s) { return "127.0.0.1:" + std::to_string(s.port); }

TEST(ReceiverTargetsTest, ParsesFixedTargetsAndDnsNames) {
  absl::StatusOr<std::vector<ReceiverTarget>> t =
      ParseReceiverTargets("a:1, dns:///rx.ns.svc:50052,dns:rx2:7,dns://8.8.8.8/rx3:9,dns:///[::1]:5");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->size(), 5u);
  EXPECT_FALSE((*t)[0].dns);
  EXPECT_EQ((*t)[0].spec, "a:1");
  EXPECT_TRUE((*t)[1].dns);
  EXPECT_EQ((*t)[1].host, "rx.ns.svc");
  EXPECT_EQ((*t)[1].port, "50052");
  EXPECT_EQ((*t)[2].host, "rx2");
  EXPECT_EQ((*t)[3].host, "rx3");
  EXPECT_EQ((*t)[3].port, "9");
  EXPECT_EQ((*t)[4].host, "::1");
}

TEST(ReceiverTargetsTest, RefusesMalformedLists) {
  for (const char* bad : {"", "a:1,", "a:1,,b:2", "a:1,a:1", "dns:///rx", "dns:///rx:0", "dns:///rx:70000",
                          "dns:///:5", "dns:///rx:port", "dns://auth"}) {
    absl::StatusOr<std::vector<ReceiverTarget>> t = ParseReceiverTargets(bad);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << "'" << bad << "'";
  }
}

TEST(ReceiverTargetsTest, ResolvesANameToEveryAddress) {
  absl::StatusOr<std::vector<ReceiverTarget>> t = ParseReceiverTargets("dns:///127.0.0.1:50052");
  ASSERT_TRUE(t.ok());
  absl::StatusOr<std::vector<std::string>> a = ResolveReceiverTarget((*t)[0]);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, std::vector<std::string>{"ipv4:127.0.0.1:50052"});
  t = ParseReceiverTargets("dns:///no-such-host.invalid:50052");
  EXPECT_EQ(ResolveReceiverTarget((*t)[0]).status().code(), absl::StatusCode::kUnavailable);
}

TEST(ReceiverPoolTest, SpreadsPacketsOverEveryReceiverInTurn) {
  FakeReceiver a("rx-a", false), b("rx-b", false), c("rx-c", false);
  RunningServer sa = Start(&a), sb = Start(&b), sc = Start(&c);
  auto pool = Pool(Addr(sa) + "," + Addr(sb) + "," + Addr(sc));
  std::map<std::string, int> by_address;
  for (int i = 0; i < 9; ++i) {
    absl::StatusOr<Delivery> d = pool->Deliver(Packet("p" + std::to_string(i)), In(5000));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->ack.id(), "p" + std::to_string(i));
    ++by_address[d->address];
  }
  EXPECT_EQ(a.received, 3);
  EXPECT_EQ(b.received, 3);
  EXPECT_EQ(c.received, 3);
  EXPECT_EQ(by_address[Addr(sa)], 3);
  EXPECT_EQ(pool->Addresses().size(), 3u);
  EXPECT_NE(pool->State().find(Addr(sb) + ": connected"), std::string::npos) << pool->State();
}

TEST(ReceiverPoolTest, SkipsAReceiverThatIsGoneAndLosesNoPacket) {
  FakeReceiver a("rx-a", false), b("rx-b", false);
  RunningServer sa = Start(&a), sb = Start(&b);
  auto pool = Pool(Addr(sa) + "," + Addr(sb));
  ASSERT_TRUE(pool->Deliver(Packet("warm-a"), In(5000)).ok());
  ASSERT_TRUE(pool->Deliver(Packet("warm-b"), In(5000)).ok());
  const std::string gone = Addr(sb);
  sb.server->Shutdown(std::chrono::system_clock::now());
  sb.server->Wait();
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<Delivery> d = pool->Deliver(Packet("after" + std::to_string(i)), In(5000));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->address, Addr(sa));
    EXPECT_EQ(d->ack.receiver(), "rx-a");
  }
  EXPECT_EQ(a.received, 7);
  EXPECT_NE(pool->State().find(gone + ": down"), std::string::npos) << pool->State();
}

TEST(ReceiverPoolTest, APacketInFlightWhenItsReceiverDiesIsResentToAnother) {
  FakeReceiver holding("rx-hold", true), good("rx-good", false);
  RunningServer sh = Start(&holding), sg = Start(&good);
  auto pool = Pool(Addr(sh) + "," + Addr(sg));  // round robin starts at the holding receiver
  std::thread killer([&] {
    while (holding.received == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    sh.server->Shutdown(std::chrono::system_clock::now());  // the stream breaks with the packet unacknowledged
  });
  absl::StatusOr<Delivery> d = pool->Deliver(Packet("in-flight"), In(10000));
  killer.join();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->address, Addr(sg));
  EXPECT_EQ(holding.received, 1);
  EXPECT_EQ(good.received, 1);
  EXPECT_EQ(good.last_attempt, 2);  // the resend says it is one
}

TEST(ReceiverPoolTest, EveryReceiverGoneIsUnavailableAfterTheAttempts) {
  FakeReceiver a("rx-a", false);
  RunningServer sa = Start(&a);
  const std::string addr = Addr(sa);
  sa.server->Shutdown(std::chrono::system_clock::now());
  sa.server->Wait();
  auto pool = Pool(addr);
  absl::StatusOr<Delivery> d = pool->Deliver(Packet("x"), In(10000));
  EXPECT_EQ(d.status().code(), absl::StatusCode::kUnavailable) << d.status();
  EXPECT_NE(d.status().message().find("after 3 attempts"), std::string::npos) << d.status();
  EXPECT_NE(d.status().message().find(addr), std::string::npos) << d.status();
}

TEST(ReceiverPoolTest, ADnsNameStandsForTheAddressesItResolvesTo) {
  FakeReceiver a("rx-a", false);
  RunningServer sa = Start(&a);
  std::vector<std::string> tls_names;
  auto pool = Pool("dns:///localhost:" + std::to_string(sa.port), &tls_names);
  // localhost may also resolve to ::1, where nothing listens: that address is skipped.
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<Delivery> d = pool->Deliver(Packet("n" + std::to_string(i)), In(5000));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->address, "ipv4:127.0.0.1:" + std::to_string(sa.port));
  }
  EXPECT_EQ(a.received, 4);
  ASSERT_FALSE(tls_names.empty());
  EXPECT_EQ(tls_names[0], "localhost");  // a resolved address is checked against the name's certificate
  auto nowhere = Pool("dns:///no-such-host.invalid:50052");
  absl::StatusOr<Delivery> d = nowhere->Deliver(Packet("x"), In(3000));
  EXPECT_EQ(d.status().code(), absl::StatusCode::kUnavailable) << d.status();
  EXPECT_NE(nowhere->State().find("no-such-host.invalid"), std::string::npos) << nowhere->State();
}

// Acks in completion order reach their own callers: the link matches them by id.
TEST(ReceiverPoolTest, AcksInCompletionOrderReachTheirOwnCallers) {
  ReversingReceiver reversing;
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  absl::StatusOr<RunningServer> r = StartServer(o, {&reversing});
  ASSERT_TRUE(r.ok()) << r.status();
  std::shared_ptr<ReceiverPool> pool = Pool("127.0.0.1:" + std::to_string(r->port));
  ASSERT_NE(pool, nullptr);
  absl::StatusOr<Delivery> big, small;
  std::thread first([&] { big = pool->Deliver(Packet("big"), In(5000)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // "big" goes out first
  small = pool->Deliver(Packet("small"), In(5000));
  first.join();
  ASSERT_TRUE(big.ok()) << big.status();
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(big->ack.id(), "big");
  EXPECT_EQ(small->ack.id(), "small");
  EXPECT_TRUE(reversing.asked_for_completion_order);
  pool.reset();  // ends the stream the fake receiver is still reading
  r->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

}  // namespace
}  // namespace mt::server
