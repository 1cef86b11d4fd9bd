// The sender's receivers: one ReceiverLink (one long-lived stream) per receiver address, from the
// --receiver list (fixed targets, and dns: names re-resolved every resolve_every). Packets go to
// the healthy receivers in turn; a receiver whose send fails with UNAVAILABLE (unreachable, or its
// stream broke with the packet in flight) is passed over for down_for, and the packet is sent
// again to the next one. An acknowledged packet is on that receiver's disk; a packet whose ack
// was lost may be stored twice (on two receivers, or twice with the same content on one), never lost.
// Thread-safety: Deliver(), State() and Addresses() may be called from any number of threads.
#pragma once

#include <grpcpp/channel.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mt/v1/transmission.pb.h"
#include "server/sender/receiver_link.h"
#include "server/sender/receiver_targets.h"

namespace mt::server {

struct PoolOptions {
  LinkOptions link;                                // for every receiver
  int max_attempts = 3;                            // sends of one packet (each to the next receiver) before UNAVAILABLE
  std::chrono::milliseconds resolve_every{5000};   // how often dns: names are looked up again
  std::chrono::milliseconds down_for{2000};        // a failed receiver is passed over this long (unless all are)
};

// Makes the channel to one receiver: `target` is a gRPC target; `tls_name` is the name its
// certificate must carry ("" for a fixed target: its own host).
using ReceiverChannelFactory =
    std::function<std::shared_ptr<grpc::Channel>(const std::string& target, const std::string& tls_name)>;

struct Delivery {
  v1::Ack ack;
  std::string address;  // the receiver that answered, as the pool names it ("ipv4:10.0.0.7:50052")
};

class ReceiverPool {
 public:
  // INVALID_ARGUMENT for a malformed list. dns: names are looked up now and again later; one
  // that does not resolve yet is not an error (its receivers may start later).
  static absl::StatusOr<std::shared_ptr<ReceiverPool>> Create(const std::string& receivers,
                                                              ReceiverChannelFactory factory, PoolOptions options);
  ~ReceiverPool();

  // Delivers `packet` to one receiver and waits for its Ack until `deadline`, retrying on the
  // next receiver after UNAVAILABLE. Other statuses as ReceiverLink::DeliverOnce; UNAVAILABLE
  // after max_attempts failed sends or when no receiver address is known. A resend carries
  // attempt > 1 (and every write the time left, ack_wait_ms).
  absl::StatusOr<Delivery> Deliver(v1::Packet packet, std::chrono::system_clock::time_point deadline,
                                   const std::function<bool()>& cancelled = nullptr);

  // One "address: state" per receiver, "; "-joined (plus any name that fails to resolve).
  std::string State() const;
  // The receivers known now.
  std::vector<std::string> Addresses() const;

 private:
  struct Member;
  ReceiverPool(std::vector<ReceiverTarget> targets, ReceiverChannelFactory factory, PoolOptions options);
  void Refresh(bool urgent);
  std::shared_ptr<Member> Pick(const std::vector<std::shared_ptr<Member>>& tried);
  std::shared_ptr<Member> MemberFor(const std::string& address, const std::string& tls_name);

  const std::vector<ReceiverTarget> targets_;
  const bool has_dns_;  // some target is a dns: name (only then is anything looked up again)
  const ReceiverChannelFactory factory_;
  const PoolOptions options_;
  std::mutex resolve_mu_;  // one lookup at a time (others go on with the current members)
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Member>> members_;  // guarded by mu_
  std::vector<std::string> resolve_errors_;       // guarded by mu_
  size_t next_ = 0;                               // round-robin cursor; guarded by mu_
  std::chrono::steady_clock::time_point resolved_at_{};  // guarded by mu_
};

}  // namespace mt::server
