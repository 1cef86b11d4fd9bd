#include "core/data/data_loader.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace mt {

DataLoader::DataLoader(std::shared_ptr<const ImageDataset> dataset, const DataLoaderOptions& options)
    : dataset_(std::move(dataset)), options_(options) {
  TORCH_CHECK(options_.batch_size > 0, "batch_size must be > 0");
  TORCH_CHECK(options_.world_size >= 1 && options_.rank >= 0 && options_.rank < options_.world_size,
              "rank must be in [0, world_size)");
}

int64_t DataLoader::ShardSize() const { return dataset_->size() / options_.world_size; }

DataLoader::~DataLoader() { StopWorkers(); }

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = ShardSize(), b = options_.batch_size;
  int64_t batches = options_.drop_last ? n / b : (n + b - 1) / b;
  if (options_.limit_batches >= 0) batches = std::min(batches, options_.limit_batches);
  return batches;
}

void DataLoader::StopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  ready_.clear();
  stop_ = false;
}

at::Tensor DataLoader::MakeBatch(int64_t batch) const {
  const int64_t start = batch * options_.batch_size;
  const int64_t stop = std::min<int64_t>(start + options_.batch_size, ShardSize());
  std::vector<at::Tensor> samples;
  samples.reserve(static_cast<size_t>(stop - start));
  for (int64_t i = start; i < stop; ++i) {
    const int64_t position = i * options_.world_size + options_.rank;  // in the epoch's permutation
    // Seeded per (seed, epoch, position): identical whichever worker (or rank) draws it.
    std::seed_seq seq{options_.seed, static_cast<uint64_t>(epoch_), static_cast<uint64_t>(position)};
    std::mt19937_64 rng(seq);
    samples.push_back(dataset_->Get(order_[static_cast<size_t>(position)], rng));
  }
  at::Tensor out = at::stack(samples);
  return options_.pin_memory ? out.pin_memory() : out;
}

void DataLoader::StartEpoch(int64_t epoch, int64_t first_batch) {
  StopWorkers();
  epoch_ = epoch;
  order_.resize(static_cast<size_t>(dataset_->size()));
  std::iota(order_.begin(), order_.end(), 0);
  if (options_.shuffle) {
    std::mt19937_64 rng(options_.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch));
    std::shuffle(order_.begin(), order_.end(), rng);
  }
  next_ = first_batch;
  end_ = batches_per_epoch();
  const int64_t workers = options_.num_workers;
  const int64_t prefetch = std::max<int64_t>(2, 2 * workers);
  // Captured by value: a worker may start after the consumer has already advanced next_.
  const int64_t first = next_, end = end_;
  for (int64_t w = 0; w < workers; ++w) {
    workers_.emplace_back([this, w, workers, prefetch, first, end] {
      for (int64_t b = first + w; b < end; b += workers) {
        {
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait(lock, [&] { return stop_ || b < next_ + prefetch; });
          if (stop_) return;
        }
        at::Tensor batch = MakeBatch(b);
        {
          std::lock_guard<std::mutex> lock(mu_);
          ready_[b] = std::move(batch);
        }
        cv_.notify_all();
      }
    });
  }
}

at::Tensor DataLoader::Next() {
  if (next_ >= end_) return at::Tensor();
  at::Tensor batch;
  if (workers_.empty()) {
    batch = MakeBatch(next_);
  } else {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return ready_.count(next_) > 0; });
    batch = std::move(ready_[next_]);
    ready_.erase(next_);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++next_;
  }
  cv_.notify_all();
  return batch;
}

}  // namespace mt
