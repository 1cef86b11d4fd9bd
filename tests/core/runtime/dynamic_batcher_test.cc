#include "core/runtime/dynamic_batcher.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <chrono>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

namespace mt {
namespace {

using std::chrono::milliseconds;

// Concurrent submitters while the worker is busy end up in shared batches, each caller gets
// its own result, and no batch exceeds max_items.
TEST(DynamicBatcherTest, BatchesConcurrentItemsAndKeepsEachResult) {
  std::vector<size_t> sizes;
  DynamicBatcher<int, int> batcher({4, 1 << 30, std::chrono::microseconds(0)}, [&](std::vector<int>& batch) {
    sizes.push_back(batch.size());
    std::this_thread::sleep_for(milliseconds(50));  // busy: others queue meanwhile
    std::vector<int> out;
    for (int x : batch) out.push_back(x * x);
    return out;
  });
  std::vector<std::future<int>> futures;
  for (int i = 0; i < 10; ++i) futures.push_back(batcher.Submit(i));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(futures[static_cast<size_t>(i)].get(), i * i);
  // The first item starts alone (nothing else queued yet, delay 0); the other 9 queue behind it
  // and go in batches of at most 4: 1 + 4 + 4 + 1 at best, never more than 4 each.
  EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), size_t{0}), 10u);
  for (size_t s : sizes) EXPECT_LE(s, 4u);
  EXPECT_LE(sizes.size(), 5u);
  EXPECT_EQ(batcher.Stats().first, static_cast<int64_t>(sizes.size()));
  EXPECT_EQ(batcher.Stats().second, 10);
}

// max_weight closes a batch before max_items; a single item heavier than the limit still runs.
TEST(DynamicBatcherTest, RespectsMaxWeight) {
  std::vector<std::vector<int>> batches;
  std::atomic<bool> release{false}, started{false};
  DynamicBatcher<int, int> batcher({16, 10, std::chrono::microseconds(0)}, [&](std::vector<int>& batch) {
    batches.push_back(batch);
    started = true;
    while (!release.load()) std::this_thread::sleep_for(milliseconds(1));
    return batch;
  });
  std::future<int> first = batcher.Submit(0, 1);  // occupies the worker
  // Waits for the worker to hold it (a fixed sleep is not enough on a loaded machine).
  while (!started.load()) std::this_thread::sleep_for(milliseconds(1));
  std::vector<std::future<int>> rest;
  for (int i = 1; i <= 5; ++i) rest.push_back(batcher.Submit(i, 4));  // 4+4 fit in 10, 4+4+4 do not
  rest.push_back(batcher.Submit(6, 50));                              // alone: heavier than the limit
  release = true;
  EXPECT_EQ(first.get(), 0);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(rest[static_cast<size_t>(i)].get(), i + 1);
  ASSERT_EQ(batches.size(), 5u);
  EXPECT_EQ(batches[1], (std::vector<int>{1, 2}));
  EXPECT_EQ(batches[2], (std::vector<int>{3, 4}));
  EXPECT_EQ(batches[3], (std::vector<int>{5}));
  EXPECT_EQ(batches[4], (std::vector<int>{6}));
}

// With a delay, a lone item waits up to max_delay for company and then runs anyway.
TEST(DynamicBatcherTest, MaxDelayGathersLateArrivals) {
  std::vector<size_t> sizes;
  DynamicBatcher<int, int> batcher({8, 1 << 30, std::chrono::microseconds(200000)}, [&](std::vector<int>& batch) {
    sizes.push_back(batch.size());
    return batch;
  });
  const auto t0 = std::chrono::steady_clock::now();
  std::future<int> a = batcher.Submit(1);
  std::this_thread::sleep_for(milliseconds(30));
  std::future<int> b = batcher.Submit(2);
  EXPECT_EQ(a.get() + b.get(), 3);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(190));
  EXPECT_EQ(sizes, (std::vector<size_t>{2}));
}

// An exception in the batch function reaches every caller of that batch, and the worker lives on.
TEST(DynamicBatcherTest, ExceptionReachesCallersAndWorkerSurvives) {
  DynamicBatcher<int, int> batcher({4, 1 << 30, std::chrono::microseconds(0)}, [](std::vector<int>& batch) {
    if (batch[0] < 0) throw std::runtime_error("negative");
    return batch;
  });
  EXPECT_THROW(batcher.Submit(-1).get(), std::runtime_error);
  EXPECT_EQ(batcher.Submit(7).get(), 7);
}

// The destructor finishes queued work instead of dropping it.
// A bounded queue refuses what would overfill it while others wait (BatcherQueueFull at once),
// runs what it accepted, and accepts again once the queue has drained.
TEST(DynamicBatcherTest, BoundedQueueRefusesOverflowAndRecovers) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false, running = false;
  BatchingOptions o;
  o.max_items = 1;
  o.max_queued_weight = 10;
  DynamicBatcher<int, int> batcher(o, [&](std::vector<int>& batch) {
    std::unique_lock<std::mutex> lock(mu);
    running = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    return batch;
  });
  std::future<int> busy = batcher.Submit(0, 100);  // taken by the worker (an empty queue takes anything)
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return running; });
  }
  std::future<int> a = batcher.Submit(1, 6), b = batcher.Submit(2, 4);  // 10 queued: at the limit
  std::future<int> refused = batcher.Submit(3, 1);
  EXPECT_THROW(refused.get(), BatcherQueueFull);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_EQ(busy.get(), 0);
  EXPECT_EQ(a.get(), 1);
  EXPECT_EQ(b.get(), 2);
  EXPECT_EQ(batcher.Submit(4, 9).get(), 4);  // drained: accepted again
}

TEST(DynamicBatcherTest, DestructorDrainsQueue) {
  std::vector<std::future<int>> futures;
  {
    DynamicBatcher<int, int> batcher({2, 1 << 30, std::chrono::microseconds(0)}, [](std::vector<int>& batch) {
      std::this_thread::sleep_for(milliseconds(5));
      return batch;
    });
    for (int i = 0; i < 7; ++i) futures.push_back(batcher.Submit(i));
  }
  for (int i = 0; i < 7; ++i) EXPECT_EQ(futures[static_cast<size_t>(i)].get(), i);
}

}  // namespace
}  // namespace mt

namespace mt {
namespace {

// With two workers two batches run at the same time: each call waits until the other has started.
TEST(DynamicBatcherTest, TwoWorkersRunTwoBatchesAtOnce) {
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  DynamicBatcher<int, bool> batcher({1, 1 << 30, std::chrono::microseconds(0), /*workers=*/2},
                                    [&](std::vector<int>& batch) {
                                      std::unique_lock<std::mutex> lock(mu);
                                      ++running;
                                      cv.notify_all();
                                      const bool both = cv.wait_for(lock, std::chrono::seconds(10), [&] { return running >= 2; });
                                      return std::vector<bool>(batch.size(), both);
                                    });
  std::future<bool> a = batcher.Submit(1), b = batcher.Submit(2);
  EXPECT_TRUE(a.get());
  EXPECT_TRUE(b.get());
}

int ThisThreadNice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); }

// A heavy item (weight >= large_weight) runs on its own lane: small items submitted while it
// runs finish first, each heavy item runs alone, and the heavy lane's thread is niced +19.
// With large_threads, the large lane runs its slices on that many intra-op threads while small
// items are queued or running, and on all of them otherwise (what ForwardInChunks applies before
// each slice; slices are capped at large_slice_rows there).
TEST(DynamicBatcherTest, TheLargeLaneNarrowsItsThreadsOnlyWhileSmallItemsAreAbout) {
  const int before = at::get_num_threads();
  at::set_num_threads(2);  // the process's count, which the batcher's new threads start with
  const int process = 2;
  BatchingOptions options;
  options.large_weight = 100;
  options.large_threads = 1;
  options.large_slice_rows = 64;
  std::atomic<bool> release{false}, small_running{false};
  std::mutex mu;
  std::vector<std::pair<int, int>> seen;  // (item, intra-op threads its slice would use)
  DynamicBatcher<int, int> batcher(options, [&](std::vector<int>& batch) {
    if (batch[0] == 1) {  // a small item that runs until released
      small_running = true;
      while (!release.load()) std::this_thread::sleep_for(milliseconds(1));
      return batch;
    }
    ApplyIntraOpThreadsToThisThread();  // as ForwardInChunks does before each slice
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back({batch[0], at::get_num_threads()});
    if (batch[0] >= 1000) {
      EXPECT_EQ(ThisThreadSliceCap(), 64);
    }
    return batch;
  });
  EXPECT_EQ(batcher.Submit(1000, 500).get(), 1000);  // alone
  std::future<int> small = batcher.Submit(1, 1);
  while (!small_running.load()) std::this_thread::sleep_for(milliseconds(1));
  EXPECT_EQ(batcher.Submit(1001, 500).get(), 1001);  // while the small one runs
  release = true;
  EXPECT_EQ(small.get(), 1);
  EXPECT_EQ(batcher.Submit(1002, 500).get(), 1002);  // alone again
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen, (std::vector<std::pair<int, int>>{{1000, process}, {1001, 1}, {1002, process}}));
  at::set_num_threads(before);
}

TEST(DynamicBatcherTest, LargeItemsRunOnTheirOwnLowPriorityLane) {
  BatchingOptions options;
  options.max_items = 16;
  options.large_weight = 100;
  std::atomic<bool> release{false};
  std::mutex mu;
  std::vector<std::pair<int, int>> runs;  // (first item, its thread's nice)
  std::vector<size_t> large_sizes;
  const int base_nice = ThisThreadNice();
  DynamicBatcher<int, int> batcher(options, [&](std::vector<int>& batch) {
    {
      std::lock_guard<std::mutex> lock(mu);
      runs.push_back({batch[0], ThisThreadNice()});
      if (batch[0] >= 1000) large_sizes.push_back(batch.size());
    }
    if (batch[0] == 1000)
      while (!release.load()) std::this_thread::sleep_for(milliseconds(1));  // the big photo
    return batch;
  });
  std::future<int> big = batcher.Submit(1000, 500);
  std::future<int> big2 = batcher.Submit(1001, 100);  // waits behind the first big one, not batched with it
  std::this_thread::sleep_for(milliseconds(20));
  std::vector<std::future<int>> small;
  for (int i = 0; i < 5; ++i) small.push_back(batcher.Submit(i, 1));
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(small[static_cast<size_t>(i)].wait_for(std::chrono::seconds(5)), std::future_status::ready)
        << "a small item waited behind the big one";
    EXPECT_EQ(small[static_cast<size_t>(i)].get(), i);
  }
  EXPECT_EQ(big.wait_for(milliseconds(0)), std::future_status::timeout);  // still running
  release = true;
  EXPECT_EQ(big.get(), 1000);
  EXPECT_EQ(big2.get(), 1001);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(large_sizes, (std::vector<size_t>{1, 1}));
  for (const auto& [first, nice] : runs) {
    if (first >= 1000) EXPECT_EQ(nice, std::min(19, base_nice + 19)) << "heavy item " << first;
    else EXPECT_EQ(nice, base_nice) << "small item " << first;
  }
}

// Without large_weight every item shares one lane (a heavy one holds up the small ones).
TEST(DynamicBatcherTest, OneLaneWithoutLargeWeight) {
  std::atomic<bool> release{false};
  DynamicBatcher<int, int> batcher({16, 1 << 30, std::chrono::microseconds(0)}, [&](std::vector<int>& batch) {
    if (batch[0] == 1000)
      while (!release.load()) std::this_thread::sleep_for(milliseconds(1));
    return batch;
  });
  std::future<int> big = batcher.Submit(1000, 500);
  std::this_thread::sleep_for(milliseconds(20));
  std::future<int> small = batcher.Submit(1, 1);
  EXPECT_EQ(small.wait_for(milliseconds(100)), std::future_status::timeout);
  release = true;
  EXPECT_EQ(small.get(), 1);
  EXPECT_EQ(big.get(), 1000);
}

}  // namespace
}  // namespace mt
