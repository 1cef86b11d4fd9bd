#include "core/io/atomic_file.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/test_util.h"

namespace mt {
namespace {

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AtomicFileTest, ReplacesWholeFilesAndLeavesNoTempBehind) {
  const std::filesystem::path dir = test::TempDir();
  ASSERT_TRUE(WriteFileAtomic((dir / "a.png").string(), "first").ok());
  ASSERT_TRUE(WriteFileAtomic((dir / "a.png").string(), "second, longer").ok());
  EXPECT_EQ(Read(dir / "a.png"), "second, longer");
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
  EXPECT_EQ(WriteFileAtomic((dir / "missing" / "b.png").string(), "x").code(), absl::StatusCode::kFailedPrecondition);
}

// No-replace is decided by the rename itself: an existing file is never touched.
TEST(AtomicFileTest, NoReplaceRefusesAnExistingFileAndLeavesNoTemp) {
  const std::filesystem::path dir = test::TempDir();
  const std::string path = (dir / "c.png").string();
  ASSERT_TRUE(WriteFileAtomic(path, "original", WriteMode::kNoReplace).ok());
  absl::Status again = WriteFileAtomic(path, "intruder", WriteMode::kNoReplace);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_EQ(Read(path), "original");
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
}

// A full disk is not "unavailable" (which clients retry): it is RESOURCE_EXHAUSTED.
TEST(AtomicFileTest, ErrnoCodesSayWhatWentWrong) {
  EXPECT_EQ(FileErrorStatus(ENOSPC, "write x").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(FileErrorStatus(EDQUOT, "write x").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(FileErrorStatus(EROFS, "write x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(FileErrorStatus(EIO, "write x").code(), absl::StatusCode::kInternal);
  EXPECT_NE(FileErrorStatus(ENOSPC, "write x").message().find("write x: No space left"), std::string::npos);
}

// What a writer killed mid-write leaves (a dot-temp file) is removed; real files are not.
TEST(AtomicFileTest, RemoveStaleTempFilesDeletesOnlyTempFiles) {
  const std::filesystem::path dir = test::TempDir();
  std::ofstream(dir / ".x.png.tmp.123.0") << "partial";
  std::ofstream(dir / ".y.png.tmp.9.4") << "partial";
  std::ofstream(dir / "x.png") << "kept";
  std::ofstream(dir / ".hidden") << "kept";
  EXPECT_EQ(RemoveStaleTempFiles(dir.string()), 2);
  EXPECT_TRUE(std::filesystem::exists(dir / "x.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / ".hidden"));
  EXPECT_FALSE(std::filesystem::exists(dir / ".x.png.tmp.123.0"));
  EXPECT_EQ(RemoveStaleTempFiles((dir / "nope").string()), 0);
}

}  // namespace
}  // namespace mt
