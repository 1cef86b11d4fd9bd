// Data-loader throughput alone (images/s), to compare with the training step's images/s.
// Usage: mt_bench_loader [--data data/photos] [--batches 40] [--batch_size 128] [--img_size 32]
#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/runtime/blas_core.h"
#include "core/data/data_loader.h"
#include "core/data/image_folder.h"
#include "core/runtime/cpu_runtime.h"

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  std::string data = "data/photos";
  int64_t batches = 40, batch_size = 128, img_size = 32;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("mt_bench_loader [--data DIR] [--batches N] [--batch_size B] [--img_size S]: image-folder loader images/s\n");
      return 0;
    }
    if (!std::strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
    if (!std::strcmp(argv[i], "--batches") && i + 1 < argc) batches = std::atoll(argv[++i]);
    if (!std::strcmp(argv[i], "--batch_size") && i + 1 < argc) batch_size = std::atoll(argv[++i]);
    if (!std::strcmp(argv[i], "--img_size") && i + 1 < argc) img_size = std::atoll(argv[++i]);
  }
  mt::ConfigureCpuRuntime();
  mt::ImageFolderOptions o;
  o.crops_per_image = 4096;
  o.img_size = img_size;
  auto dataset = mt::LoadImageFolder(data, mt::Split::kTrain, o);
  if (!dataset.ok()) {
    std::fprintf(stderr, "%s\n", dataset.status().ToString().c_str());
    return 1;
  }
  std::shared_ptr<const mt::ImageDataset> shared(std::move(*dataset));
  std::printf("| loader workers | images/s |\n|---:|---:|\n");
  for (int64_t workers : {0, 1, 2}) {
    mt::DataLoaderOptions lo;
    lo.batch_size = batch_size;
    lo.num_workers = workers;
    lo.limit_batches = batches;
    mt::DataLoader loader(shared, lo);
    loader.StartEpoch(0);
    const auto t0 = std::chrono::steady_clock::now();
    int64_t images = 0;
    for (at::Tensor b = loader.Next(); b.defined(); b = loader.Next()) images += b.size(0);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("| %lld | %.0f |\n", static_cast<long long>(workers), images / s);
  }
  return 0;
}
