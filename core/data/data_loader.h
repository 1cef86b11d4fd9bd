// Batches from an ImageDataset, produced ahead of time by worker threads.
// Thread-safety: one consumer thread calls StartEpoch()/Next(); workers are internal.
#pragma once

#include <ATen/core/Tensor.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/data/image_dataset.h"

namespace mt {

struct DataLoaderOptions {
  int64_t batch_size = 256;  // samples per batch
  bool shuffle = true;       // new permutation per epoch (seeded by seed and epoch)
  bool drop_last = true;     // drop the final partial batch
  int64_t num_workers = 2;   // 0 = load in Next() on the caller's thread
  uint64_t seed = 0;         // permutation and augmentation seed
  int64_t limit_batches = -1;  // at most this many batches per epoch (-1: all)
  bool pin_memory = false;     // page-locked batches, so a CUDA upload does not block the host
  // Distributed-sampler sharding: of each epoch's permutation (the same on every rank, by seed)
  // this loader takes positions rank, rank + world_size, ... (the tail that does not divide
  // evenly is dropped, so every rank has as many batches). Batch b of ranks 0..W-1 together
  // holds the samples, augmented identically, of batch b of one loader with W× the batch size.
  int64_t rank = 0;
  int64_t world_size = 1;
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const ImageDataset> dataset, const DataLoaderOptions& options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t batches_per_epoch() const;

  // Begins epoch `epoch` at batch `first_batch` (resuming mid-epoch skips without loading).
  // Batch contents depend only on (seed, epoch, batch index), never on worker timing.
  void StartEpoch(int64_t epoch, int64_t first_batch = 0);

  // Next batch (B, 3, S, S) of the current epoch, or an undefined tensor when it is exhausted.
  at::Tensor Next();

 private:
  at::Tensor MakeBatch(int64_t batch) const;
  int64_t ShardSize() const;  // samples this rank sees per epoch
  void StopWorkers();

  std::shared_ptr<const ImageDataset> dataset_;
  DataLoaderOptions options_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0, next_ = 0, end_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, at::Tensor> ready_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace mt
