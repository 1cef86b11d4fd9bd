// Cancel flags of work in flight, by id: the receiver's Deliver stream registers one per packet
// it queues and sets it when the sender writes a cancel for that id (mt.v1.Packet.cancel), so the
// batcher's worker can drop the packet, or stop decoding it, instead of computing what nobody
// awaits. The registry holds the flags weakly: a packet's flag lives as long as its queued item.
// Thread-safety: all methods may be called from any number of threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mt {

class CancelRegistry {
 public:
  using Flag = std::shared_ptr<std::atomic<bool>>;

  // A new, unset flag for work named `id` (several may share an id: a cancel sets them all).
  Flag Register(const std::string& id) {
    auto flag = std::make_shared<std::atomic<bool>>(false);
    std::lock_guard<std::mutex> lock(mu_);
    // Forget finished work now and then, so the map stays as small as what is in flight.
    if (flags_.size() >= prune_at_) {
      for (auto it = flags_.begin(); it != flags_.end();) it = it->second.expired() ? flags_.erase(it) : std::next(it);
      prune_at_ = std::max<size_t>(kMinPruneAt, 2 * flags_.size());
    }
    flags_.emplace(id, flag);
    return flag;
  }

  // Sets the flag of every live work item named `id`; returns how many there were (0: none is
  // in flight, e.g. it has already finished).
  int Cancel(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    int count = 0;
    const auto range = flags_.equal_range(id);
    for (auto it = range.first; it != range.second; ++it)
      if (Flag f = it->second.lock()) {
        f->store(true);
        ++count;
      }
    return count;
  }

  // Entries held, live or not yet pruned (for tests: bounded by about twice what is in flight).
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return flags_.size();
  }

 private:
  static constexpr size_t kMinPruneAt = 64;
  mutable std::mutex mu_;
  std::unordered_multimap<std::string, std::weak_ptr<std::atomic<bool>>> flags_;
  size_t prune_at_ = kMinPruneAt;
};

}  // namespace mt
