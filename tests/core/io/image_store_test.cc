#include "core/io/image_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/test_util.h"

namespace mt {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ImageStoreTest, NewIdsAreStoredAndOnlyTheSameContentIsAnIdempotentResend) {
  const std::string dir = test::TempDir() + "/store";
  std::unique_ptr<ImageStore> store = *ImageStore::Open({dir, false});
  absl::StatusOr<ImageStore::Put> first = store->Store("a", "key-1", "png-1", true);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->already_stored);
  EXPECT_EQ(first->path, dir + "/a.png");
  EXPECT_EQ(Read(dir + "/a.png"), "png-1");

  absl::StatusOr<ImageStore::Put> resend = store->Store("a", "key-1", "png-1 decoded again", true);
  ASSERT_TRUE(resend.ok()) << resend.status();
  EXPECT_TRUE(resend->already_stored);
  EXPECT_EQ(resend->stored_png, "png-1");  // what is on disk; the file is unchanged
  EXPECT_EQ(Read(dir + "/a.png"), "png-1");

  absl::StatusOr<ImageStore::Put> other = store->Store("a", "key-2", "png-2", true);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(other.status().message().find("other content"), std::string::npos) << other.status();
  EXPECT_EQ(Read(dir + "/a.png"), "png-1");
  EXPECT_EQ(store->Store("b", "", "x", false).status().code(), absl::StatusCode::kInvalidArgument);
}

// A PNG without a content record (an older receiver wrote it, or someone copied it in) is never
// taken for anyone's resend.
TEST(ImageStoreTest, ImagesWithoutARecordAreNeverHandedOut) {
  const std::string dir = test::TempDir() + "/legacy";
  std::unique_ptr<ImageStore> store = *ImageStore::Open({dir, false});
  std::ofstream(dir + "/old.png") << "legacy";
  absl::StatusOr<ImageStore::Put> put = store->Store("old", "any-key", "new", true);
  EXPECT_EQ(put.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(put.status().message().find("no content record"), std::string::npos) << put.status();
  EXPECT_EQ(Read(dir + "/old.png"), "legacy");
}

TEST(ImageStoreTest, OverwriteReplacesImageAndRecordAndOpenClearsTemps) {
  const std::string dir = test::TempDir() + "/over";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/.x.png.tmp.1.0") << "partial";
  std::unique_ptr<ImageStore> store = *ImageStore::Open({dir, true});
  EXPECT_EQ(store->removed_temp_files(), 1);
  ASSERT_TRUE(store->Store("x", "k1", "one", false).ok());
  ASSERT_TRUE(store->Store("x", "k2", "two", false).ok());
  EXPECT_EQ(Read(dir + "/x.png"), "two");
  // Without overwrite, the record now says k2.
  std::unique_ptr<ImageStore> strict = *ImageStore::Open({dir, false});
  EXPECT_TRUE(strict->Store("x", "k2", "two", false)->already_stored);
  EXPECT_EQ(strict->Store("x", "k1", "one", false).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ImageStore::Open({"/proc/version/nope", false}).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mt
