#include "core/data/dataset_factory.h"

#include "core/data/binary_datasets.h"
#include "core/data/synthetic.h"
#ifdef MT_HAVE_IMAGING
#include "core/data/image_folder.h"
#endif

namespace mt {

absl::StatusOr<std::unique_ptr<ImageDataset>> MakeDataset(const DataConfig& c, Split split) {
  if (c.kind == "cifar10") return LoadCifar10(c.data_dir, split);
  if (c.kind == "stl10") return LoadStl10(c.data_dir, split);
  if (c.kind == "crop_file") return LoadCropFile(c.data_dir, split, c.img_size);
  if (c.kind == "synthetic")
    return MakeSyntheticDataset(split == Split::kTrain ? c.crops_per_image : c.val_crops_per_image, c.img_size);
#ifdef MT_HAVE_IMAGING
  ImageFolderOptions o;
  o.img_size = c.img_size;
  o.crops_per_image = c.crops_per_image;
  o.val_crops_per_image = c.val_crops_per_image;
  o.max_crop_side = c.max_crop_side;
  return LoadImageFolder(c.data_dir, split, o);
#else
  return absl::UnimplementedError("image_folder data needs a build with OpenCV (MT_BUILD_IMAGING=ON)");
#endif
}

}  // namespace mt
