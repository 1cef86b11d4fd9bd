// DynamicBatcher: turns concurrent single-item requests into batched calls of one function.
// Small models on a few cores are dominated by per-call overhead (thread wake-ups, tiny GEMMs),
// so running 16 requests in one forward costs far less than 16 forwards. Items submitted while
// the worker is busy are collected; a batch closes when it reaches max_items or max_weight, or
// max_delay after its first item arrived (0: take what is queued, adding no latency at low load).
// With large_weight, items weighing at least that much (a 12 MP photo is 11,750 tiles) queue on a
// lane of their own: one more thread, one item per call, at the lowest CPU priority (nice +19, which
// its OpenMP/BLAS threads inherit), so small items never wait behind a big one and get most of the
// CPU while both run; the big one still gets every cycle the small ones leave. With large_threads,
// it also runs on fewer intra-op threads while small items are about (see cpu_runtime.h: a
// low-priority thread's multi-threaded GEMMs would stall theirs).
// Thread-safety: Submit() may be called from any number of threads; `workers` threads run the
// batch function (with one worker it need not be thread-safe; with more it must be).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/runtime/cpu_runtime.h"

namespace mt {

struct BatchingOptions {
  int max_items = 16;                        // items per batch (1 disables batching)
  int64_t max_weight = 1 << 30;              // sum of item weights per batch (e.g. tiles); one item may exceed it alone
  std::chrono::microseconds max_delay{0};    // how long the first item of a batch may wait for company
  int workers = 1;                           // batches run concurrently (each on its own thread)
  int64_t max_queued_weight = 0;             // queued (not yet running) weight beyond which Submit refuses; 0 = no bound
  int64_t large_weight = 0;                  // items at least this heavy run on their own low-priority lane; 0 = one lane
  // Intra-op threads of the large lane while small items are queued or running (0 = no limit);
  // it runs in slices of at most large_slice_rows then, so the limit takes hold within a slice.
  int large_threads = 0;
  int64_t large_slice_rows = 128;
};

// What a refused Submit's future throws: the queue already holds max_queued_weight.
class BatcherQueueFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename In, typename Out>
class DynamicBatcher {
 public:
  // fn(batch) returns one Out per In, in order; if it throws, every item of the batch gets the exception.
  using BatchFn = std::function<std::vector<Out>(std::vector<In>& batch)>;

  DynamicBatcher(BatchingOptions options, BatchFn fn)
      : options_(options), fn_(std::move(fn)) {
    for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { Loop(small_); });
    if (options_.large_weight > 0)
      workers_.emplace_back([this] {
        LowerThisThreadCpuPriority(kLargeLaneNice);
        // While small items run, fewer (single-threaded) GEMMs here keep off OpenBLAS's one
        // multi-threaded slot, which theirs would spin on while this nice-19 thread is scarcely
        // scheduled (cpu_runtime.h); alone, the big item gets every core.
        if (options_.large_threads > 0) {
          SetThisThreadIntraOpLimit(&large_limit_);
          SetThisThreadSliceCap(options_.large_slice_rows);
        }
        Loop(large_);
      });
  }

  // Finishes every submitted item, then stops the worker.
  ~DynamicBatcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Queues `in` (weighing `weight` toward max_weight); the future holds its Out (or exception).
  // With max_queued_weight, an item that would take the queued weight past it (while others
  // wait) is not queued: its future throws BatcherQueueFull at once. An empty queue takes any item.
  std::future<Out> Submit(In in, int64_t weight = 1) {
    Pending p{std::move(in), weight, std::chrono::steady_clock::now(), {}};
    std::future<Out> f = p.promise.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      const bool empty = small_.queue.empty() && large_.queue.empty();
      if (options_.max_queued_weight > 0 && !empty && queued_weight_ + weight > options_.max_queued_weight) {
        p.promise.set_exception(std::make_exception_ptr(BatcherQueueFull(
            "queue full: " + std::to_string(queued_weight_) + " queued, limit " + std::to_string(options_.max_queued_weight))));
        return f;
      }
      queued_weight_ += weight;
      Lane& lane = options_.large_weight > 0 && weight >= options_.large_weight ? large_ : small_;
      lane.queue.push_back(std::move(p));
      if (&lane == &small_) SmallItemsChanged(+1);
    }
    cv_.notify_all();
    return f;
  }

  // Weight queued and not yet running (for metrics).
  int64_t QueuedWeight() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queued_weight_;
  }

  // Sizes of the batches run so far (for logs and benchmarks): count and item total.
  std::pair<int64_t, int64_t> Stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {batches_, items_};
  }

 private:
  struct Pending {
    In in;
    int64_t weight;
    std::chrono::steady_clock::time_point arrived;
    std::promise<Out> promise;
  };
  struct Lane {
    std::deque<Pending> queue;
    bool one_at_a_time = false;
  };
  // Small items queued or running changed by `delta` (caller holds mu_): the large lane's limit.
  void SmallItemsChanged(int64_t delta) {
    small_items_ += delta;
    large_limit_.store(small_items_ > 0 ? options_.large_threads : 0, std::memory_order_relaxed);
  }

  static constexpr int kLargeLaneNice = 19;  // CFS weight 15 against 1024: ~98.5 % of the CPU to small items

  // How many of the lane's queued items the next batch takes (0: wait for more). Caller holds mu_.
  size_t Ready(const Lane& lane) const {
    const std::deque<Pending>& queue = lane.queue;
    if (queue.empty()) return 0;
    size_t n = 0;
    int64_t weight = 0;
    const size_t max_items = lane.one_at_a_time ? 1 : static_cast<size_t>(std::max(1, options_.max_items));
    while (n < queue.size() && n < max_items && (n == 0 || weight + queue[n].weight <= options_.max_weight)) {
      weight += queue[n].weight;
      ++n;
    }
    const bool full = n == max_items || n < queue.size();  // the next item would not fit
    const bool waited = std::chrono::steady_clock::now() >= queue.front().arrived + options_.max_delay;
    return full || waited || stopping_ ? n : 0;
  }

  void Loop(Lane& lane) {
    std::deque<Pending>& queue = lane.queue;
    for (;;) {
      std::vector<Pending> batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        size_t n = 0;
        for (;;) {
          if ((n = Ready(lane)) > 0) break;
          if (queue.empty()) {
            if (stopping_) return;
            cv_.wait(lock);
          } else {
            cv_.wait_until(lock, queue.front().arrived + options_.max_delay);
          }
        }
        for (size_t i = 0; i < n; ++i) {
          queued_weight_ -= queue.front().weight;
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        ++batches_;
        items_ += static_cast<int64_t>(n);
      }
      std::vector<In> inputs;
      inputs.reserve(batch.size());
      for (Pending& p : batch) inputs.push_back(std::move(p.in));
      std::vector<Out> outs;
      std::exception_ptr error;
      try {
        outs = fn_(inputs);
        if (outs.size() != batch.size()) throw std::logic_error("batch function returned the wrong number of results");
      } catch (...) {
        error = std::current_exception();
      }
      if (&lane == &small_) {  // done before anyone learns it, so a caller's next item sees it
        std::lock_guard<std::mutex> lock(mu_);
        SmallItemsChanged(-static_cast<int64_t>(batch.size()));
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        if (error) batch[i].promise.set_exception(error);
        else batch[i].promise.set_value(std::move(outs[i]));
      }
    }
  }

  const BatchingOptions options_;
  const BatchFn fn_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Lane small_, large_{{}, true};
  bool stopping_ = false;
  int64_t batches_ = 0, items_ = 0;
  int64_t queued_weight_ = 0;  // sum of the weights queued in both lanes
  int64_t small_items_ = 0;    // small-lane items queued or running
  std::atomic<int> large_limit_{0};  // the large lane's intra-op limit (SetThisThreadIntraOpLimit)
  std::vector<std::thread> workers_;  // last: start after every other member is ready
};

}  // namespace mt
