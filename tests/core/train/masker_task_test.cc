#include "core/train/masker_task.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/io/checkpoint.h"
#include "tests/test_util.h"

namespace mt {
namespace {

// A frozen tiny MAE on disk and a masker config that scores for it.
MaskerTaskConfig TinyMaskerTaskConfig() {
  at::manual_seed(2);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  MaskerTaskConfig c;
  c.mae_checkpoint = test::TempDir() + "/init_mae.pt";
  EXPECT_TRUE(SaveCheckpoint(c.mae_checkpoint, mae).ok());
  c.model = test::TinyMaskerOptions();
  c.model.img_size = 8;
  c.model.patch_size = 2;
  return c;
}

TEST(MaskerTaskTest, InitCheckpointStartsFromThoseWeights) {
  MaskerTaskConfig c = TinyMaskerTaskConfig();
  at::manual_seed(5);
  Masker init(c.model);
  c.init_checkpoint = test::TempDir() + "/init_masker.pt";
  ASSERT_TRUE(SaveCheckpoint(c.init_checkpoint, init).ok());
  at::manual_seed(6);  // a different random init, which InitFrom must overwrite
  auto task = MaskerTask::Create(c);
  ASSERT_TRUE(task.ok()) << task.status();
  auto got = (*task)->module().named_parameters();
  auto want = init->named_parameters();
  ASSERT_EQ(got.size(), want.size());
  for (const auto& p : want) EXPECT_TRUE(at::equal(p.value(), got[p.key()])) << p.key();

  c.init_checkpoint.clear();  // without it: the fresh random init differs
  at::manual_seed(6);
  auto fresh = MaskerTask::Create(c);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  auto fresh_params = (*fresh)->module().named_parameters();
  bool any_differs = false;
  for (const auto& p : want) any_differs |= !at::equal(p.value(), fresh_params[p.key()]);
  EXPECT_TRUE(any_differs);
}

TEST(MaskerTaskTest, InitCheckpointOfAnotherShapeIsRefusedByName) {
  MaskerTaskConfig c = TinyMaskerTaskConfig();
  MaskerOptions wider = c.model;
  wider.embed_dim *= 2;
  Masker other(wider);
  c.init_checkpoint = test::TempDir() + "/wider_masker.pt";
  ASSERT_TRUE(SaveCheckpoint(c.init_checkpoint, other).ok());
  auto task = MaskerTask::Create(c);
  EXPECT_EQ(task.status().code(), absl::StatusCode::kFailedPrecondition) << task.status();
  EXPECT_NE(task.status().message().find("wider_masker.pt"), std::string::npos) << task.status();

  c.init_checkpoint = test::TempDir() + "/missing.pt";
  EXPECT_FALSE(MaskerTask::Create(c).ok());
}

}  // namespace
}  // namespace mt
