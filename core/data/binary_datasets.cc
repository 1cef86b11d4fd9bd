#include "core/data/binary_datasets.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mt {
namespace {

namespace fs = std::filesystem;

// Images held as uint8 (N, 3, S, S); flips only when training.
class InMemoryDataset final : public ImageDataset {
 public:
  InMemoryDataset(at::Tensor images, bool augment) : images_(std::move(images)), augment_(augment) {}
  int64_t size() const override { return images_.size(0); }
  int64_t image_size() const override { return images_.size(2); }
  at::Tensor Get(int64_t index, std::mt19937_64& rng) const override {
    at::Tensor x = images_[index].to(at::kFloat).div_(255.0);
    if (augment_ && (rng() & 1)) x = x.flip({2});
    return x;
  }

 private:
  at::Tensor images_;
  bool augment_;
};

// Picks `dir/sub` when the files live in the conventional subfolder.
std::string Resolve(const std::string& dir, const std::string& sub, const std::string& probe) {
  if (fs::exists(fs::path(dir) / sub / probe)) return (fs::path(dir) / sub).string();
  return dir;
}

// Reads `expected_records` records of `record_bytes` (skipping `skip` header bytes per record)
// from `path`; expected_records < 0 accepts any whole number of records.
absl::StatusOr<std::vector<uint8_t>> ReadRecords(const std::string& path, int64_t record_bytes, int64_t skip,
                                                 int64_t expected_records) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return absl::NotFoundError(absl::StrCat("dataset file '", path, "' is missing"));
  const auto bytes = static_cast<int64_t>(fs::file_size(path, ec));
  if (expected_records < 0 && bytes > 0 && bytes % record_bytes == 0) expected_records = bytes / record_bytes;
  if (bytes != expected_records * record_bytes)
    return absl::DataLossError(absl::StrCat("dataset file '", path, "' has ", bytes, " bytes; expected ",
                                            expected_records * record_bytes, " (", expected_records,
                                            " records): truncated or not the binary version?"));
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> raw(static_cast<size_t>(bytes));
  in.read(reinterpret_cast<char*>(raw.data()), bytes);
  if (!in) return absl::DataLossError(absl::StrCat("cannot read '", path, "'"));
  if (skip == 0) return raw;
  std::vector<uint8_t> out;
  out.reserve(static_cast<size_t>(expected_records * (record_bytes - skip)));
  for (int64_t r = 0; r < expected_records; ++r)
    out.insert(out.end(), raw.begin() + r * record_bytes + skip, raw.begin() + (r + 1) * record_bytes);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ImageDataset>> LoadCifar10(const std::string& dir_in, Split split) {
  const std::string dir = Resolve(dir_in, "cifar-10-batches-bin", "test_batch.bin");
  std::vector<std::string> files;
  if (split == Split::kTrain) {
    for (int i = 1; i <= 5; ++i) files.push_back(absl::StrCat(dir, "/data_batch_", i, ".bin"));
  } else {
    files.push_back(dir + "/test_batch.bin");
  }
  constexpr int64_t kPerFile = 10000, kRecord = 1 + 3 * 32 * 32;  // label byte + CHW pixels
  std::vector<uint8_t> all;
  for (const std::string& f : files) {
    absl::StatusOr<std::vector<uint8_t>> part = ReadRecords(f, kRecord, 1, kPerFile);
    if (!part.ok()) return part.status();
    all.insert(all.end(), part->begin(), part->end());
  }
  const auto n = static_cast<int64_t>(all.size() / (3 * 32 * 32));
  at::Tensor images = at::from_blob(all.data(), {n, 3, 32, 32}, at::kByte).clone();
  return std::unique_ptr<ImageDataset>(new InMemoryDataset(images, split == Split::kTrain));
}

absl::StatusOr<std::unique_ptr<ImageDataset>> LoadStl10(const std::string& dir_in, Split split) {
  const std::string dir = Resolve(dir_in, "stl10_binary", "test_X.bin");
  constexpr int64_t kRecord = 3 * 96 * 96;
  std::vector<std::pair<std::string, int64_t>> files;
  if (split == Split::kTrain) {
    files = {{dir + "/unlabeled_X.bin", -1}, {dir + "/train_X.bin", -1}};
  } else {
    files = {{dir + "/test_X.bin", -1}};
  }
  std::vector<at::Tensor> parts;
  for (const auto& [path, expected] : files) {
    absl::StatusOr<std::vector<uint8_t>> raw = ReadRecords(path, kRecord, 0, expected);
    if (!raw.ok()) return raw.status();
    const auto count = static_cast<int64_t>(raw->size()) / kRecord;
    // STL-10 stores each channel column-major: (N, C, W, H) → transpose to (N, C, H, W).
    parts.push_back(at::from_blob(raw->data(), {count, 3, 96, 96}, at::kByte).transpose(2, 3).contiguous());
  }
  return std::unique_ptr<ImageDataset>(new InMemoryDataset(at::cat(parts, 0), split == Split::kTrain));
}

absl::StatusOr<std::unique_ptr<ImageDataset>> LoadCropFile(const std::string& dir, Split split, int64_t img_size) {
  if (img_size <= 0) return absl::InvalidArgumentError("crop file: img_size must be > 0");
  const std::string path = (fs::path(dir) / (split == Split::kTrain ? "train.u8" : "val.u8")).string();
  const int64_t record = 3 * img_size * img_size;
  absl::StatusOr<std::vector<uint8_t>> raw = ReadRecords(path, record, 0, -1);
  if (!raw.ok()) return raw.status();
  const auto count = static_cast<int64_t>(raw->size()) / record;
  at::Tensor images = at::from_blob(raw->data(), {count, 3, img_size, img_size}, at::kByte).clone();
  return std::unique_ptr<ImageDataset>(new InMemoryDataset(images, split == Split::kTrain));
}

}  // namespace mt
