#include "core/pipeline/tile_reconstructor.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/masking/losses.h"

namespace mt {

TileReconstructor::TileReconstructor(MaskedAutoencoder mae, Masker masker)
    : mae_(std::move(mae)), masker_(std::move(masker)) {
  TORCH_CHECK(mae_->options().img_size == masker_->options().img_size &&
                  mae_->options().patch_size == masker_->options().patch_size,
              "masker and MAE disagree on image or patch size");
  mae_->eval();
  masker_->eval();
}

TileReconstruction TileReconstructor::Reconstruct(const at::Tensor& tile, const PatchSelector& selector,
                                                  EncoderContext context) {
  torch::NoGradGuard no_grad;
  const MaskedAutoencoderOptions& o = mae_->options();
  at::Tensor x = tile.unsqueeze(0).to(at::kFloat);
  TileReconstruction r;
  r.probs = at::sigmoid(masker_->forward(x))[0];
  r.keep = selector.Select(r.probs.unsqueeze(0))[0];
  at::Tensor ids = KeptIndices(r.keep).unsqueeze(0);
  r.kept = ids.size(1);

  at::Tensor pred;
  if (context == EncoderContext::kFullContext) {
    at::Tensor latent = mae_->EmbedForDecoder(mae_->EncodeFull(x));
    pred = mae_->Decode(latent.narrow(1, 0, 1),
                        mae_->ApplyKeepMask(latent.narrow(1, 1, o.num_patches()), r.keep.unsqueeze(0)));
  } else {
    pred = mae_->DecodeVisible(x, ids);
  }
  at::Tensor decoded = mae_->PatchesToImages(pred).clamp(0.0, 1.0);
  r.decoded = decoded[0];
  r.composite = CompositeImage(x, decoded, r.keep.unsqueeze(0).to(at::kFloat), o.patch_size)[0];
  return r;
}

}  // namespace mt
