// ChunkAssembler: whole packets from ordered chunks, with the memory bound and every way a chunk
// sequence can be wrong (each refused once, the rest of that packet skipped, the next one served).
#include "core/codec/chunk_assembler.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace mt {
namespace {

// `data` cut into `count` chunks of near-equal size (the last takes the remainder).
std::vector<std::string> Cut(const std::string& data, int64_t count) {
  std::vector<std::string> out;
  const size_t size = data.size() / static_cast<size_t>(count);
  for (int64_t i = 0; i < count; ++i)
    out.push_back(data.substr(static_cast<size_t>(i) * size, i + 1 == count ? std::string::npos : size));
  return out;
}

Chunk At(const std::string& id, const std::vector<std::string>& parts, int64_t i, int64_t total) {
  return {id, i, static_cast<int64_t>(parts.size()), total, parts[static_cast<size_t>(i)]};
}

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

TEST(ChunkAssemblerTest, RebuildsPacketsOfOneAndOfManyChunksExactly) {
  ChunkAssembler a(1 << 20);
  for (int64_t count : {1, 2, 7}) {
    const std::string data = Bytes(1000 + static_cast<size_t>(count), static_cast<uint32_t>(count));
    const std::vector<std::string> parts = Cut(data, count);
    for (int64_t i = 0; i < count; ++i) {
      ChunkOutcome o = a.Add(At("p" + std::to_string(count), parts, i, 1000 + count));
      ASSERT_TRUE(o.status.ok()) << o.status;
      EXPECT_TRUE(o.abandoned_id.empty());
      ASSERT_EQ(o.complete.has_value(), i + 1 == count) << "chunk " << i;
      if (o.complete) {
        EXPECT_EQ(*o.complete, data);
      }
      EXPECT_EQ(a.buffered_bytes(), i + 1 == count ? 0 : static_cast<int64_t>((i + 1) * parts[0].size()));
    }
  }
  // An empty packet is one empty chunk.
  ChunkOutcome empty = a.Add({"e", 0, 1, 0, ""});
  ASSERT_TRUE(empty.complete.has_value());
  EXPECT_EQ(*empty.complete, "");
}

TEST(ChunkAssemblerTest, ADeclaredTotalOverTheLimitIsRefusedBeforeAnythingIsKept) {
  ChunkAssembler a(100);
  const std::vector<std::string> parts = Cut(Bytes(300, 1), 3);
  ChunkOutcome first = a.Add(At("big", parts, 0, 300));
  EXPECT_EQ(first.status.code(), absl::StatusCode::kResourceExhausted) << first.status;
  EXPECT_NE(first.status.message().find("300 bytes, over the receiver's limit of 100"), std::string::npos);
  EXPECT_EQ(a.buffered_bytes(), 0);
  // Its other chunks are skipped without a second report; then the next packet is served.
  for (int64_t i = 1; i < 3; ++i) {
    ChunkOutcome o = a.Add(At("big", parts, i, 300));
    EXPECT_TRUE(o.status.ok()) << o.status;
    EXPECT_FALSE(o.complete.has_value());
    EXPECT_EQ(a.buffered_bytes(), 0);
  }
  ChunkOutcome next = a.Add({"small", 0, 1, 3, "abc"});
  ASSERT_TRUE(next.complete.has_value());
  EXPECT_EQ(*next.complete, "abc");
}

TEST(ChunkAssemblerTest, OutOfOrderMismatchedOverrunAndShortChunksAreRefusedNamingTheProblem) {
  const std::string data = Bytes(90, 2);
  const std::vector<std::string> parts = Cut(data, 3);  // 30 bytes each
  struct Case {
    std::string name;
    std::vector<Chunk> chunks;  // the last one is refused
    std::string message;
  };
  const std::vector<Case> cases = {
      {"first is not 0", {At("x", parts, 1, 90)}, "chunk 1 of 3 came first"},
      {"skips one", {At("x", parts, 0, 90), At("x", parts, 2, 90)}, "chunk 2 of 3 (90 bytes) where chunk 1 of 3"},
      {"count changes", {At("x", parts, 0, 90), {"x", 1, 4, 90, parts[1]}}, "where chunk 1 of 3"},
      {"total changes", {At("x", parts, 0, 90), {"x", 1, 3, 91, parts[1]}}, "where chunk 1 of 3 (90 bytes)"},
      {"overrun", {At("x", parts, 0, 50), At("x", parts, 1, 50)}, "chunk 1 overruns the declared 50 bytes"},
      {"short", {At("x", parts, 0, 100), At("x", parts, 1, 100), At("x", parts, 2, 100)},
       "the chunks carry 90 of the declared 100 bytes"},
      {"bad count", {{"x", 0, 0, 10, ""}}, "chunk count 0 and total 10 bytes"},
  };
  for (const Case& c : cases) {
    ChunkAssembler a(1000);
    for (size_t i = 0; i + 1 < c.chunks.size(); ++i) ASSERT_TRUE(a.Add(c.chunks[i]).status.ok()) << c.name;
    ChunkOutcome o = a.Add(c.chunks.back());
    EXPECT_EQ(o.status.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(o.status.message().find(c.message), std::string::npos) << c.name << ": " << o.status;
    EXPECT_FALSE(o.complete.has_value()) << c.name;
    EXPECT_EQ(a.buffered_bytes(), 0) << c.name;
    // The assembler serves the next packet whatever came before.
    ChunkOutcome next = a.Add({"next", 0, 1, 2, "ok"});
    ASSERT_TRUE(next.complete.has_value()) << c.name << ": " << next.status;
    EXPECT_EQ(*next.complete, "ok");
  }
}

TEST(ChunkAssemblerTest, APacketInterruptedByAnotherIsReportedAbandonedAndTheNewOneAssembles) {
  ChunkAssembler a(1000);
  const std::vector<std::string> parts = Cut(Bytes(40, 3), 4);
  ASSERT_TRUE(a.Add(At("old", parts, 0, 40)).status.ok());
  ASSERT_TRUE(a.Add(At("old", parts, 1, 40)).status.ok());
  ChunkOutcome o = a.Add({"new", 0, 1, 2, "hi"});
  EXPECT_EQ(o.abandoned_id, "old");
  EXPECT_EQ(o.abandoned.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(o.abandoned.message().find("chunks 2 to 3 of 4 never came"), std::string::npos) << o.abandoned;
  ASSERT_TRUE(o.status.ok());
  ASSERT_TRUE(o.complete.has_value());
  EXPECT_EQ(*o.complete, "hi");
}

}  // namespace
}  // namespace mt
