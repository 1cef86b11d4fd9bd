// Importing facebookresearch/mae state dicts: the pickle rewrite that lets LibTorch read Python's
// OrderedDicts, option inference from shapes, weight copy, and the ImageNet normalisation the
// official models expect. (tests/train/import_official_test.sh reads a file Python wrote.)
#include "core/io/official_mae.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/io/torch_pickle.h"

namespace mt {
namespace {

// pickle.dumps({'model': OrderedDict([('a', 1)]), 'h': OrderedDict()}, protocol=2) in Python 3.
const std::string kPickle("\x80\x02}q\x00(X\x05\x00\x00\x00modelq\x01" "ccollections\nOrderedDict\nq\x02)Rq\x03"
                          "X\x01\x00\x00\x00" "aq\x04K\x01sX\x01\x00\x00\x00hq\x05h\x02)Rq\x06u.", 76);

TEST(TorchPickleTest, OrderedDictConstructionsBecomeEmptyDicts) {
  ASSERT_EQ(kPickle.size(), 76u);
  absl::StatusOr<std::string> out = RewriteOrderedDicts(kPickle);
  ASSERT_TRUE(out.ok()) << out.status();
  // The class becomes EMPTY_DICT (its memo write kept), `() R` goes; the BINGET of the class too;
  // the one-item dict's SETITEM becomes MARK (before the key) ... SETITEMS. (Python's
  // pickle.loads of the expected bytes gives the same {'model': {'a': 1}, 'h': {}}.)
  const std::string expected("\x80\x02}q\x00(X\x05\x00\x00\x00modelq\x01}q\x02q\x03"
                             "(X\x01\x00\x00\x00" "aq\x04K\x01uX\x01\x00\x00\x00hq\x05}q\x06u.", 48);
  EXPECT_EQ(*out, expected);
}

TEST(TorchPickleTest, ASingleSetItemBecomesMarkAndSetItems) {
  // pickle.dumps({'model': 1}, protocol=2): LibTorch's unpickler has no SETITEM.
  const std::string in("\x80\x02}q\x00X\x05\x00\x00\x00modelq\x01K\x01s.", 21);
  absl::StatusOr<std::string> out = RewriteOrderedDicts(in);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, std::string("\x80\x02}q\x00(X\x05\x00\x00\x00modelq\x01K\x01u.", 22));
  EXPECT_EQ(RewriteOrderedDicts(std::string("K\x01s.", 4)).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TorchPickleTest, TruncatedOrUnknownPicklesAreInvalidArgument) {
  EXPECT_EQ(RewriteOrderedDicts(kPickle.substr(0, 30)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RewriteOrderedDicts("\x80\x02\xff.").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RewriteOrderedDicts("").status().code(), absl::StatusCode::kInvalidArgument);
  // OrderedDict built from a list of pairs (protocol 0/1 style) is refused, not misread.
  EXPECT_EQ(RewriteOrderedDicts("ccollections\nOrderedDict\n]R.").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadTorchStateDict("/nonexistent.pth").status().code(), absl::StatusCode::kNotFound);
}

MaskedAutoencoderOptions Tiny() {
  MaskedAutoencoderOptions o;
  o.img_size = 16;
  o.patch_size = 4;
  o.embed_dim = 128;  // 2 heads of 64, as the official models
  o.depth = 2;
  o.num_heads = 2;
  o.decoder_embed_dim = 32;
  o.decoder_depth = 1;
  o.decoder_num_heads = 16;
  o.mlp_ratio = 2.0;
  return o;
}

std::map<std::string, at::Tensor> StateDict(MaskedAutoencoder& m) {
  std::map<std::string, at::Tensor> sd;
  for (const auto& p : m->named_parameters()) sd[p.key()] = p.value().detach().clone();
  return sd;
}

TEST(OfficialMaeTest, InfersTheOptionsAndCopiesEveryWeight) {
  torch::manual_seed(3);
  MaskedAutoencoder original(Tiny());
  std::map<std::string, at::Tensor> sd = StateDict(original);
  sd["epoch_marker"] = at::zeros({1});  // not a model tensor: reported, not an error
  OfficialMaeImportOptions import;
  import.imagenet_normalization = false;
  std::vector<std::string> ignored;
  absl::StatusOr<MaskedAutoencoder> imported = MaeFromOfficialStateDict(sd, import, &ignored);
  ASSERT_TRUE(imported.ok()) << imported.status();
  const MaskedAutoencoderOptions& o = (*imported)->options();
  EXPECT_EQ(o.img_size, 16);
  EXPECT_EQ(o.patch_size, 4);
  EXPECT_EQ(o.embed_dim, 128);
  EXPECT_EQ(o.depth, 2);
  EXPECT_EQ(o.num_heads, 2);
  EXPECT_EQ(o.decoder_embed_dim, 32);
  EXPECT_EQ(o.decoder_depth, 1);
  EXPECT_EQ(o.decoder_num_heads, 16);
  EXPECT_DOUBLE_EQ(o.mlp_ratio, 2.0);
  EXPECT_FALSE(o.normalizes_input());
  EXPECT_EQ(ignored, std::vector<std::string>{"epoch_marker"});
  torch::NoGradGuard no_grad;
  original->eval();
  const at::Tensor x = at::rand({2, 3, 16, 16});
  const at::Tensor ids = at::tensor({0, 5, 9, 15}, at::kLong).view({1, 4}).expand({2, 4});
  EXPECT_TRUE(at::equal((*imported)->DecodeVisible(x, ids), original->DecodeVisible(x, ids)));
}

TEST(OfficialMaeTest, ImageNetNormalisationWrapsTheModelInPixelSpace) {
  torch::manual_seed(4);
  MaskedAutoencoder original(Tiny());
  absl::StatusOr<MaskedAutoencoder> imported = MaeFromOfficialStateDict(StateDict(original), {}, nullptr);
  ASSERT_TRUE(imported.ok()) << imported.status();
  ASSERT_EQ((*imported)->options().input_mean, kImageNetMean);
  torch::NoGradGuard no_grad;
  original->eval();
  const at::Tensor x = at::rand({1, 3, 16, 16});
  const at::Tensor mean = at::tensor(kImageNetMean, at::kFloat).view({1, 3, 1, 1});
  const at::Tensor std = at::tensor(kImageNetStd, at::kFloat).view({1, 3, 1, 1});
  // Encoder: the imported model on pixels = the raw weights on normalised input.
  EXPECT_TRUE(at::allclose((*imported)->EncodeFull(x), original->EncodeFull((x - mean) / std), 1e-5, 1e-5));
  // Decoder: the raw patches mapped back to pixels, per channel (channel innermost in a patch).
  const at::Tensor ids = at::arange(0, 16, 3, at::kLong).view({1, -1});
  const at::Tensor raw = original->PatchesToImages(original->DecodeVisible((x - mean) / std, ids));
  const at::Tensor pixels = (*imported)->PatchesToImages((*imported)->DecodeVisible(x, ids));
  EXPECT_TRUE(at::allclose(pixels, raw * std + mean, 1e-5, 1e-5));
}

TEST(OfficialMaeTest, MissingOrMisshapedTensorsAreFailedPrecondition) {
  torch::manual_seed(5);
  MaskedAutoencoder original(Tiny());
  std::map<std::string, at::Tensor> encoder_only = StateDict(original);
  for (auto it = encoder_only.begin(); it != encoder_only.end();)
    it = it->first.rfind("decoder", 0) == 0 || it->first == "mask_token" ? encoder_only.erase(it) : std::next(it);
  absl::StatusOr<MaskedAutoencoder> m = MaeFromOfficialStateDict(encoder_only, {}, nullptr);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("mae_visualize"), std::string::npos) << m.status();

  std::map<std::string, at::Tensor> bad = StateDict(original);
  bad["blocks.1.attn.proj.weight"] = at::zeros({128, 64});
  m = MaeFromOfficialStateDict(bad, {}, nullptr);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("blocks.1.attn.proj.weight"), std::string::npos) << m.status();

  std::map<std::string, at::Tensor> no_mask = StateDict(original);
  no_mask.erase("mask_token");
  m = MaeFromOfficialStateDict(no_mask, {}, nullptr);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("mask_token"), std::string::npos) << m.status();
}

}  // namespace
}  // namespace mt
