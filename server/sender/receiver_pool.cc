#include "server/sender/receiver_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mt::server {

using Steady = std::chrono::steady_clock;

struct ReceiverPool::Member {
  std::string address;  // gRPC target of this one receiver
  std::string origin;   // the --receiver entry it came from
  std::shared_ptr<ReceiverLink> link;
  Steady::time_point down_until{};  // guarded by the pool's mu_
};

absl::StatusOr<std::shared_ptr<ReceiverPool>> ReceiverPool::Create(const std::string& receivers,
                                                                   ReceiverChannelFactory factory,
                                                                   PoolOptions options) {
  absl::StatusOr<std::vector<ReceiverTarget>> targets = ParseReceiverTargets(receivers);
  if (!targets.ok()) return targets.status();
  if (options.max_attempts < 1) return absl::InvalidArgumentError("receiver pool: max_attempts must be >= 1");
  std::shared_ptr<ReceiverPool> pool(new ReceiverPool(*std::move(targets), std::move(factory), std::move(options)));
  pool->Refresh(false);
  return pool;
}

ReceiverPool::ReceiverPool(std::vector<ReceiverTarget> targets, ReceiverChannelFactory factory, PoolOptions options)
    : targets_(std::move(targets)),
      has_dns_(std::any_of(targets_.begin(), targets_.end(), [](const ReceiverTarget& t) { return t.dns; })),
      factory_(std::move(factory)),
      options_(std::move(options)) {}

ReceiverPool::~ReceiverPool() = default;

std::shared_ptr<ReceiverPool::Member> ReceiverPool::MemberFor(const std::string& address, const std::string& tls_name) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& m : members_)
      if (m->address == address) return m;
  }
  auto m = std::make_shared<Member>();
  m->address = address;
  m->link = std::make_shared<ReceiverLink>(address, factory_(address, tls_name), options_.link);
  return m;
}

void ReceiverPool::Refresh(bool urgent) {
  const auto now = Steady::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A lookup is due on schedule, or soon after every receiver failed (one may have moved).
    const auto every = urgent ? std::min<std::chrono::milliseconds>(options_.resolve_every, std::chrono::milliseconds(500))
                              : options_.resolve_every;
    if (resolved_at_ != Steady::time_point{} && (!has_dns_ || now - resolved_at_ < every)) return;
  }
  std::unique_lock<std::mutex> resolving(resolve_mu_, std::try_to_lock);
  if (!resolving.owns_lock()) return;
  std::vector<std::shared_ptr<Member>> next;
  std::vector<std::string> errors;
  std::set<std::string> seen;
  auto add = [&](std::shared_ptr<Member> m, const std::string& origin) {
    if (!seen.insert(m->address).second) return;
    m->origin = origin;
    next.push_back(std::move(m));
  };
  for (const ReceiverTarget& t : targets_) {
    if (!t.dns) {
      add(MemberFor(t.spec, ""), t.spec);
      continue;
    }
    absl::StatusOr<std::vector<std::string>> addresses = ResolveReceiverTarget(t);
    if (addresses.ok()) {
      for (const std::string& a : *addresses) add(MemberFor(a, t.host), t.spec);
      continue;
    }
    errors.push_back(absl::StrCat(t.spec, ": ", addresses.status().message()));
    std::lock_guard<std::mutex> lock(mu_);  // keep what it resolved to before
    for (const auto& m : members_)
      if (m->origin == t.spec) add(m, t.spec);
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> before, after;
  for (const auto& m : members_) before.push_back(m->address);
  for (const auto& m : next) after.push_back(m->address);
  if (before != after) spdlog::info("receivers: {}", after.empty() ? "none" : absl::StrJoin(after, ", "));
  if (errors != resolve_errors_)
    for (const std::string& e : errors) spdlog::warn("receiver name lookup failed: {}", e);
  members_ = std::move(next);
  resolve_errors_ = std::move(errors);
  resolved_at_ = Steady::now();
  if (!members_.empty()) next_ %= members_.size();
}

std::shared_ptr<ReceiverPool::Member> ReceiverPool::Pick(const std::vector<std::shared_ptr<Member>>& tried) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t n = members_.size();
  if (n == 0) return nullptr;
  const auto now = Steady::now();
  auto was_tried = [&](const std::shared_ptr<Member>& m) {
    return std::find(tried.begin(), tried.end(), m) != tried.end();
  };
  // The next healthy receiver not yet tried for this packet; else the untried one that failed
  // longest ago; else (every receiver tried) the next in turn.
  std::shared_ptr<Member> fallback;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (next_ + k) % n;
    const std::shared_ptr<Member>& m = members_[i];
    if (was_tried(m)) continue;
    if (m->down_until <= now) {
      next_ = (i + 1) % n;
      return m;
    }
    if (!fallback || m->down_until < fallback->down_until) fallback = m;
  }
  if (fallback) return fallback;
  const std::shared_ptr<Member> m = members_[next_ % n];
  next_ = (next_ + 1) % n;
  return m;
}

absl::StatusOr<Delivery> ReceiverPool::Deliver(v1::Packet packet, std::chrono::system_clock::time_point deadline,
                                               const std::function<bool()>& cancelled) {
  absl::Status last;
  std::vector<std::shared_ptr<Member>> tried;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    Refresh(!last.ok());
    std::shared_ptr<Member> m = Pick(tried);
    absl::StatusOr<v1::Ack> ack;
    if (!m) {
      ack = absl::UnavailableError("no receiver address is known yet");
      std::this_thread::sleep_until(std::min(deadline, std::chrono::system_clock::now() + std::chrono::milliseconds(200)));
    } else {
      if (attempt > 1) packet.set_attempt(attempt);
      ack = m->link->DeliverOnce(packet, deadline, cancelled);
    }
    if (ack.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      m->down_until = {};
      return Delivery{*std::move(ack), m->address};
    }
    if (ack.status().code() != absl::StatusCode::kUnavailable) return ack.status();
    last = ack.status();
    if (m) {
      std::lock_guard<std::mutex> lock(mu_);
      m->down_until = Steady::now() + options_.down_for;
      tried.push_back(m);
    }
    if (std::chrono::system_clock::now() >= deadline)
      return absl::DeadlineExceededError(absl::StrCat("deadline passed while delivering: ", last.message()));
    if (cancelled && cancelled()) return absl::CancelledError("the caller went away while delivering");
    spdlog::warn("delivering '{}' (attempt {}/{}): {}", packet.id(), attempt, options_.max_attempts, last.ToString());
  }
  return absl::UnavailableError(
      absl::StrCat("no receiver took the packet after ", options_.max_attempts, " attempts: ", last.message()));
}

std::string ReceiverPool::State() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> parts;
  for (const auto& m : members_) parts.push_back(absl::StrCat(m->address, ": ", m->link->State()));
  for (const std::string& e : resolve_errors_) parts.push_back(e);
  return parts.empty() ? "no receiver address known" : absl::StrJoin(parts, "; ");
}

std::vector<std::string> ReceiverPool::Addresses() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& m : members_) out.push_back(m->address);
  return out;
}

}  // namespace mt::server
