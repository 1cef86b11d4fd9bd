#include "core/io/checkpoint.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/test_util.h"

namespace mt {
namespace {


TEST(CheckpointTest, MaeRoundTripIsBitExact) {
  at::manual_seed(1);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  const std::string path = test::TempDir() + "/mae.pt";
  ASSERT_TRUE(SaveCheckpoint(path, mae).ok());
  auto loaded = LoadMae(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->options().decoder_embed_dim, 16);
  auto want = mae->named_parameters();
  auto got = (*loaded)->named_parameters();
  ASSERT_EQ(want.size(), got.size());
  for (const auto& p : want) EXPECT_TRUE(at::equal(p.value(), got[p.key()])) << p.key();
  EXPECT_FALSE((*loaded)->pos_embed.requires_grad());
}

TEST(CheckpointTest, MaskerRoundTripKeepsKindAndWeights) {
  MaskerOptions o;
  o.kind = MaskerKind::kCnn;
  o.cnn_channels = 8;
  Masker masker(o);
  const std::string path = test::TempDir() + "/masker.pt";
  ASSERT_TRUE(SaveCheckpoint(path, masker).ok());
  auto info = ReadCheckpointInfo(path);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->kind, "masker");
  auto loaded = LoadMasker(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->options().kind, MaskerKind::kCnn);
  at::Tensor x = at::rand({1, 3, 32, 32});
  EXPECT_TRUE(at::equal(masker->forward(x), (*loaded)->forward(x)));
}

TEST(CheckpointTest, Fp16StorageHalvesTheFileAndLoadsCloseToFp32) {
  at::manual_seed(2);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  const std::string dir = test::TempDir();
  ASSERT_TRUE(SaveCheckpoint(dir + "/a.pt", mae, WeightStorage::kFloat32).ok());
  ASSERT_TRUE(SaveCheckpoint(dir + "/b.pt", mae, WeightStorage::kFloat16).ok());
  const auto full = std::filesystem::file_size(dir + "/a.pt");
  const auto half = std::filesystem::file_size(dir + "/b.pt");
  EXPECT_LT(static_cast<double>(half), 0.65 * static_cast<double>(full));
  auto loaded = LoadMae(dir + "/b.pt");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  for (const auto& p : mae->named_parameters()) {
    at::Tensor got = (*loaded)->named_parameters()[p.key()];
    EXPECT_EQ(got.dtype(), at::kFloat);
    // fp16 has a 2^-11 relative step.
    EXPECT_TRUE(at::allclose(got, p.value(), 1e-3, 1e-6)) << p.key();
  }
}

TEST(CheckpointTest, MissingCorruptAndTruncatedFilesGiveStatusNotCrash) {
  const std::string dir = test::TempDir();
  EXPECT_EQ(LoadMae(dir + "/nope.pt").status().code(), absl::StatusCode::kNotFound);
  {
    std::ofstream f(dir + "/garbage.pt", std::ios::binary);
    f << "this is not a zip archive at all";
  }
  EXPECT_EQ(LoadMae(dir + "/garbage.pt").status().code(), absl::StatusCode::kDataLoss);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  ASSERT_TRUE(SaveCheckpoint(dir + "/ok.pt", mae).ok());
  std::filesystem::copy_file(dir + "/ok.pt", dir + "/cut.pt");
  std::filesystem::resize_file(dir + "/cut.pt", std::filesystem::file_size(dir + "/ok.pt") / 2);
  auto cut = LoadMae(dir + "/cut.pt");
  EXPECT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss) << cut.status();
}

TEST(CheckpointTest, WrongKindAndShapeMismatchAreFailedPrecondition) {
  const std::string dir = test::TempDir();
  Masker masker(MaskerOptions{});
  ASSERT_TRUE(SaveCheckpoint(dir + "/masker.pt", masker).ok());
  auto wrong = LoadMae(dir + "/masker.pt");
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(wrong.status().message().find("masker"), std::string::npos);

  // A module whose weights disagree in shape with the options stored beside them.
  MaskedAutoencoder mae(test::TinyMaeOptions());
  {
    torch::NoGradGuard g;
    mae->decoder_pred->weight.set_(at::zeros({5, 16}));
  }
  ASSERT_TRUE(SaveCheckpoint(dir + "/bad.pt", mae).ok());
  auto bad = LoadMae(dir + "/bad.pt");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(bad.status().message().find("decoder_pred.weight"), std::string::npos) << bad.status();
}

TEST(CheckpointTest, PythonTorchJitLoadReadsTheArchive) {
  at::manual_seed(3);
  MaskedAutoencoder mae(test::TinyMaeOptions());
  const std::string path = test::TempDir() + "/mae.pt";
  ASSERT_TRUE(SaveCheckpoint(path, mae).ok());
  const std::string out = path + ".txt";
  const std::string cmd = std::string(MT_SYSTEM_PYTHON3) + " " MT_SOURCE_DIR
                          "/tests/reference/inspect_checkpoint.py " + path + " > " + out;
  const int rc = std::system(cmd.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 3) GTEST_SKIP() << "python3-torch not installed";
  ASSERT_EQ(rc, 0) << cmd;
  std::ifstream in(out);
  std::map<std::string, std::pair<std::string, double>> params;
  std::string line, kind;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string tag, name, shape;
    double sum = 0;
    s >> tag;
    if (tag == "kind") s >> kind;
    if (tag == "param" && s >> name >> shape >> sum) params[name] = {shape, sum};
  }
  EXPECT_EQ(kind, "mae");
  auto want = mae->named_parameters();
  EXPECT_EQ(params.size(), want.size());
  for (const auto& p : want) {
    ASSERT_TRUE(params.count(p.key())) << p.key() << " not visible from Python";
    std::string shape;
    for (auto d : p.value().sizes()) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    EXPECT_EQ(params[p.key()].first, shape) << p.key();
    EXPECT_NEAR(params[p.key()].second, p.value().to(at::kDouble).sum().item<double>(), 1e-6) << p.key();
  }
}

}  // namespace
}  // namespace mt
