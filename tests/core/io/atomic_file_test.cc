#include "core/io/atomic_file.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(WriteFileAtomic((dir / "missing" / "b.png").string(), "x").code(), absl::StatusCode::kInternal);
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
