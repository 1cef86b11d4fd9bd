#include "core/data/data_loader.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace mt {
namespace {

// Sample i is a constant image of value i/1000, plus augmentation noise from the rng.
class CountingDataset final : public ImageDataset {
 public:
  explicit CountingDataset(int64_t n) : n_(n) {}
  int64_t size() const override { return n_; }
  int64_t image_size() const override { return 4; }
  at::Tensor Get(int64_t index, std::mt19937_64& rng) const override {
    const double jitter = static_cast<double>(rng() % 1000) * 1e-7;
    return at::full({3, 4, 4}, static_cast<double>(index) / 1000.0 + jitter);
  }

 private:
  int64_t n_;
};

std::vector<at::Tensor> Epoch(DataLoader& loader, int64_t epoch, int64_t first = 0) {
  std::vector<at::Tensor> out;
  loader.StartEpoch(epoch, first);
  for (at::Tensor b = loader.Next(); b.defined(); b = loader.Next()) out.push_back(b);
  return out;
}

TEST(DataLoaderTest, BatchesDependOnlyOnSeedEpochAndIndex) {
  auto data = std::make_shared<CountingDataset>(103);
  DataLoaderOptions o;
  o.batch_size = 10;
  o.seed = 5;
  o.num_workers = 0;
  DataLoader sync(data, o);
  o.num_workers = 3;
  DataLoader threaded(data, o);
  EXPECT_EQ(sync.batches_per_epoch(), 10);  // drop_last
  auto a = Epoch(sync, 2), b = Epoch(threaded, 2);
  ASSERT_EQ(a.size(), 10u);
  ASSERT_EQ(b.size(), 10u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i], b[i])) << "batch " << i;
  // Another epoch is another permutation.
  auto c = Epoch(sync, 3);
  EXPECT_FALSE(at::equal(a[0], c[0]));
  // Every sample of an epoch appears at most once.
  std::set<int64_t> seen;
  for (const auto& batch : a)
    for (int64_t i = 0; i < batch.size(0); ++i)
      EXPECT_TRUE(seen.insert(std::lround(batch[i][0][0][0].item<double>() * 1000 - 0.4)).second);
}

TEST(DataLoaderTest, ResumingMidEpochGivesTheRemainingBatches) {
  auto data = std::make_shared<CountingDataset>(64);
  DataLoaderOptions o;
  o.batch_size = 8;
  o.num_workers = 2;
  DataLoader loader(data, o);
  auto full = Epoch(loader, 1);
  auto tail = Epoch(loader, 1, 5);
  ASSERT_EQ(tail.size(), 3u);
  for (size_t i = 0; i < tail.size(); ++i) EXPECT_TRUE(at::equal(tail[i], full[i + 5]));
}

TEST(DataLoaderTest, ValidationOrderAndLastPartialBatch) {
  auto data = std::make_shared<CountingDataset>(25);
  DataLoaderOptions o;
  o.batch_size = 10;
  o.shuffle = false;
  o.drop_last = false;
  o.num_workers = 1;
  DataLoader loader(data, o);
  auto batches = Epoch(loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].size(0), 5);
  EXPECT_NEAR(batches[1][0][0][0][0].item<double>(), 0.010, 1e-3);
  o.limit_batches = 2;
  DataLoader limited(data, o);
  EXPECT_EQ(Epoch(limited, 0).size(), 2u);
}

TEST(DataLoaderTest, StoppingEarlyDoesNotHang) {
  auto data = std::make_shared<CountingDataset>(1000);
  DataLoaderOptions o;
  o.batch_size = 4;
  o.num_workers = 4;
  DataLoader loader(data, o);
  loader.StartEpoch(0);
  EXPECT_TRUE(loader.Next().defined());
  loader.StartEpoch(1);  // abandons epoch 0 with workers mid-flight
  EXPECT_TRUE(loader.Next().defined());
}  // destructor joins the workers

TEST(DataLoaderTest, RankShardsTogetherFormTheOneProcessBatch) {
  // 103 samples, 3 ranks: 34 each (the last sample is dropped), 8 per rank-batch = 4 batches,
  // as a single loader with batch 24 has (103 / 24 = 4).
  auto data = std::make_shared<CountingDataset>(103);
  DataLoaderOptions o;
  o.batch_size = 24;
  o.seed = 9;
  o.num_workers = 0;
  DataLoader whole(data, o);
  std::vector<std::vector<at::Tensor>> ranks;
  o.batch_size = 8;
  o.world_size = 3;
  for (int64_t r = 0; r < 3; ++r) {
    o.rank = r;
    o.num_workers = r;  // threading must not matter either
    DataLoader shard(data, o);
    EXPECT_EQ(shard.batches_per_epoch(), 4);
    ranks.push_back(Epoch(shard, 1));
  }
  std::vector<at::Tensor> want = Epoch(whole, 1);
  ASSERT_EQ(want.size(), 4u);
  for (size_t b = 0; b < want.size(); ++b) {
    ASSERT_EQ(ranks[0][b].size(0), 8);
    // Rank r holds positions r, r + 3, ... of the one-process batch: interleave them back.
    at::Tensor merged = at::stack({ranks[0][b], ranks[1][b], ranks[2][b]}, 1).reshape({24, 3, 4, 4});
    EXPECT_TRUE(at::equal(merged, want[b])) << "batch " << b;  // same samples, same augmentation
  }
}

}  // namespace
}  // namespace mt
