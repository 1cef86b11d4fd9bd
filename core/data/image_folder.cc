#include "core/data/image_folder.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mt {
namespace {

namespace fs = std::filesystem;

class ImageFolderDataset final : public ImageDataset {
 public:
  ImageFolderDataset(std::vector<cv::Mat> photos, const ImageFolderOptions& o, bool train)
      : photos_(std::move(photos)), options_(o), train_(train) {}

  int64_t size() const override {
    return static_cast<int64_t>(photos_.size()) * (train_ ? options_.crops_per_image : options_.val_crops_per_image);
  }
  int64_t image_size() const override { return options_.img_size; }

  at::Tensor Get(int64_t index, std::mt19937_64& rng) const override {
    const cv::Mat& photo = photos_[static_cast<size_t>(index % static_cast<int64_t>(photos_.size()))];
    std::mt19937_64 fixed(0x5eed0000ULL + static_cast<uint64_t>(index));
    std::mt19937_64& r = train_ ? rng : fixed;
    const int s = static_cast<int>(options_.img_size);
    const int max_side = options_.max_crop_side > 0 ? static_cast<int>(std::max<int64_t>(options_.max_crop_side, s))
                                                    : std::numeric_limits<int>::max();
    const int short_side = std::min({photo.rows, photo.cols, max_side});
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const double log_lo = std::log(static_cast<double>(std::min(s, short_side)));
    const double log_hi = std::log(static_cast<double>(short_side));
    const int side = std::clamp(static_cast<int>(std::lround(std::exp(log_lo + unit(r) * (log_hi - log_lo)))),
                                std::min(s, short_side), short_side);
    const int y = static_cast<int>(unit(r) * (photo.rows - side + 1));
    const int x = static_cast<int>(unit(r) * (photo.cols - side + 1));
    cv::Mat crop = photo(cv::Rect(std::min(x, photo.cols - side), std::min(y, photo.rows - side), side, side));
    cv::Mat resized;
    if (side == s) {
      resized = crop.clone();
    } else if (side >= 2 * s) {
      // Area averaging in two steps: by an integer factor k first (OpenCV's fast path), then the
      // rest (< 2×). Why: one INTER_AREA call with a non-integer ratio took ~50 ms for a 1-MP crop,
      // and 8 of them per step halved the conv codec's training speed on 2 cores. The crop loses
      // under k pixels of its side so that k divides it.
      const int k = side / s, m = side / k;
      cv::Mat reduced;
      cv::resize(crop(cv::Rect(0, 0, k * m, k * m)), reduced, cv::Size(m, m), 0, 0, cv::INTER_AREA);
      if (m == s) {
        resized = reduced;
      } else {
        cv::resize(reduced, resized, cv::Size(s, s), 0, 0, cv::INTER_AREA);
      }
    } else {
      cv::resize(crop, resized, cv::Size(s, s), 0, 0, side > s ? cv::INTER_AREA : cv::INTER_LINEAR);
    }
    at::Tensor t = at::from_blob(resized.data, {s, s, 3}, at::kByte).permute({2, 0, 1}).to(at::kFloat).div_(255.0);
    if (train_ && (r() & 1)) t = t.flip({2});
    return t.contiguous();
  }

 private:
  std::vector<cv::Mat> photos_;  // RGB uint8, immutable after construction
  ImageFolderOptions options_;
  bool train_;
};

bool IsImageFile(const fs::path& p) {
  static const std::set<std::string> kExt = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm"};
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return kExt.count(ext) > 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ImageDataset>> LoadImageFolder(const std::string& dir, Split split,
                                                               const ImageFolderOptions& options) {
  const fs::path root = fs::path(dir) / (split == Split::kTrain ? "train" : "val");
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    return absl::NotFoundError(absl::StrCat("image folder '", root.string(),
                                            "' does not exist (expected <data_dir>/train and <data_dir>/val; "
                                            "scripts/fetch_photos.sh makes data/photos)"));
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root, ec))
    if (entry.is_regular_file() && IsImageFile(entry.path())) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<cv::Mat> photos;
  for (const fs::path& f : files) {
    cv::Mat bgr = cv::imread(f.string(), cv::IMREAD_COLOR);
    if (bgr.empty()) return absl::InvalidArgumentError(absl::StrCat("cannot decode image '", f.string(), "'"));
    if (std::min(bgr.rows, bgr.cols) < options.img_size) continue;  // too small to crop
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    photos.push_back(rgb);
  }
  if (photos.empty())
    return absl::NotFoundError(absl::StrCat("no usable images (>= ", options.img_size, " px) under '", root.string(), "'"));
  return std::unique_ptr<ImageDataset>(new ImageFolderDataset(std::move(photos), options, split == Split::kTrain));
}

}  // namespace mt
