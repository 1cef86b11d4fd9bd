// The trainer's configuration schema (the seed's LightningCLI YAML layout):
// seed_everything, trainer.*, model.class_path + model.init_args.*, data.class_path + data.init_args.*.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config/yaml_config.h"
#include "core/masking/temperature_schedule.h"
#include "core/model/conv_codec.h"
#include "core/model/latent_codec.h"
#include "core/model/latent_mae.h"
#include "core/model/mae.h"
#include "core/model/masker.h"

namespace mt {

struct TrainerConfig {
  int64_t max_epochs = -1;               // stop after this many epochs (-1: unbounded)
  int64_t max_steps = -1;                // stop after this many optimizer steps (-1: unbounded)
  std::string max_time;                  // "DD:HH:MM:SS": stop (saving last.pt) after this wall time
  std::string precision = "32-true";     // 32 | 32-true | bf16-mixed (16-mixed is refused: no fp16 loss scaling)
  std::string accelerator = "auto";      // auto | cpu | cuda | gpu
  int64_t devices = 1;                   // processes per node; > 1 trains data-parallel (README "Multi-process training")
  int64_t num_nodes = 1;                 // nodes; world size = devices × num_nodes
  std::string strategy = "auto";         // auto | ddp | single_device (auto: ddp when the world size is > 1)
  double gradient_clip_val = 0.0;        // max global grad norm (0: off)
  int64_t accumulate_grad_batches = 1;   // micro-batches per optimizer step
  int64_t log_every_n_steps = 50;        // metrics.csv / log cadence in optimizer steps
  int64_t check_val_every_n_epoch = 1;   // validation cadence in epochs
  int64_t val_every_n_steps = 0;         // extra: also validate every N steps (0: off)
  int64_t limit_val_batches = -1;        // validate on at most this many batches (-1: all)
  std::string default_root_dir = "runs"; // runs/<name>/version_N/
  bool enable_progress_bar = true;       // progress bar on stderr
};

struct MaeTaskConfig {
  MaskedAutoencoderOptions model;  // model options (init_args keys that name model fields)
  double mask_ratio = 0.75;        // random masking ratio in pretraining
  double base_lr = 1.5e-4;         // lr = base_lr · effective_batch / 256
  double lr = 0.0;                 // if > 0, used as is (no batch scaling)
  double min_lr = 0.0;             // cosine floor
  double weight_decay = 0.05;      // AdamW decay (none on biases, norms, tokens)
  double beta1 = 0.9, beta2 = 0.95;
  double warmup_epochs = 0.0;      // linear warmup length in epochs (or use warmup_steps)
  int64_t warmup_steps = -1;       // if >= 0, overrides warmup_epochs
};

struct MaskerTaskConfig {
  MaskerOptions model;             // masker options (kind, widths...)
  std::string mae_checkpoint;      // frozen MAE to train against (required)
  double base_lr = 1.5e-4;         // lr = base_lr · effective_batch / 256
  double lr = 0.0;                 // if > 0, used as is
  double weight_decay = 0.05;
  double beta1 = 0.9, beta2 = 0.95;
  double warmup_fraction = 0.1;    // linear warmup over this fraction of steps, then linear decay
  double mean_reg = 0.2;           // λ_mean
  double entropy_reg = 1e-6;       // λ_ent
  bool hard = false;               // straight-through hard Gumbel samples
  bool sample_noise = true;        // logistic noise in training samples; false + hard = train on the p > 0.5 rule
  double adjacent_reg = 0.0;       // λ_adj: weight of AdjacencyLoss (not in the seed; 0 = off)
  std::string init_checkpoint;     // optional masker weights (mt-train export) to start from
  TemperatureScheduleOptions temperature;  // τ anneal (temperature.start_value ...)
};

// Rate–distortion training of the latent codec (mt.CodecTraining): loss = bpp + λ·255²·MSE on
// the whole receiver output, masker and MAE encoder frozen.
struct CodecTaskConfig {
  LatentCodecOptions model;        // latent_channels, bottleneck_hidden (MAE options come from mae_checkpoint)
  std::string mae_checkpoint;      // MAE whose encoder is frozen and whose decoder is fine-tuned (required)
  std::string masker_checkpoint;   // frozen masker choosing the kept patches (required)
  std::string init_checkpoint;     // optional codec (training or exported) to start from
  double lmbda = 0.01;             // λ: weight of 255²·MSE against bits per pixel
  double min_step = 0.5;           // training draws Δ log-uniformly from [min_step, max_step]
  double max_step = 8.0;
  int64_t export_levels = 12;      // step levels with coding tables at export (geometric min..max)
  double keep_all_fraction = 0.3;  // share of training crops that keep every patch
  double min_keep_ratio = 0.1;     // the others keep top-k by masker score, ratio ~ U(min, 1)
  bool train_decoder = true;       // fine-tune the MAE decoder (false: only bottleneck + prior)
  std::string frozen_compute = "auto";  // frozen encoder + masker on CPU: fp32 | bf16 | auto (bf16 where Bf16PaysOnThisCpu)
  double base_lr = 1e-4;           // lr = base_lr · effective_batch / 256
  double lr = 0.0;                 // if > 0, used as is
  double weight_decay = 0.05;
  double beta1 = 0.9, beta2 = 0.95;
  double warmup_fraction = 0.05;   // linear warmup over this fraction of steps, then linear decay
};

// Rate–distortion training of the conv transform codec (mt.ConvCodecTraining): each step one
// level s, loss = bpp + λ_s·255²·MSE with λ geometric from lambda_max (level 0) to lambda_min.
struct ConvCodecTaskConfig {
  ConvCodecOptions model;          // hidden_channels, latent_channels, levels, tile_size
  std::string init_checkpoint;     // optional conv codec (training or exported) to start from
  int64_t finer_levels = 0;        // levels added before init_checkpoint's level 0 (smaller steps,
                                   // higher rates; the configured `levels` counts them)
  double lambda_max = 0.0932;      // λ of level 0 (finest; CompressAI's quality-7 MSE point)
  double lambda_min = 0.0018;      // λ of the last level (CompressAI's quality 1)
  double base_lr = 1e-4;           // lr = base_lr · effective_batch / 256
  double lr = 0.0;                 // if > 0, used as is
  double weight_decay = 0.0;       // transform codecs train without decay (CompressAI: plain Adam)
  double beta1 = 0.9, beta2 = 0.999;
  double warmup_fraction = 0.02;   // linear warmup over this fraction of steps, then linear decay
  // "all": transforms, steps and entropy model at bpp + λ·MSE; "entropy": only the hyperprior and
  // the checkerboard context, at bpp alone (the transforms and steps frozen, so the distortion
  // stays what it is; ~3× cheaper a step: no synthesis, no backward through the analysis).
  std::string trainable = "all";
};

// Pretraining of the latent MAE against a frozen conv codec (mt.LatentMaePretraining,
// core/train/latent_mae_task): random latent positions unsent, loss on the whole reconstruction.
struct LatentMaeTaskConfig {
  LatentMaeOptions model;          // dim, depth, num_heads, window, mlp_ratio (channels, levels: the codec's)
  std::string codec_checkpoint;    // frozen conv codec whose latents are filled in (required)
  std::string init_checkpoint;     // optional latent MAE to start from
  double min_mask_ratio = 0.05;    // each crop leaves a share ~ U(min, max) of its positions unsent
  double max_mask_ratio = 0.75;
  double latent_loss_weight = 0.1; // weight of the filled latents' squared error beside 255²·MSE/100
  double base_lr = 1.5e-4;         // lr = base_lr · effective_batch / 256
  double lr = 0.0;                 // if > 0, used as is
  double weight_decay = 0.05;
  double beta1 = 0.9, beta2 = 0.95;
  double warmup_fraction = 0.05;   // linear warmup over this fraction of steps, then linear decay
};

struct DataConfig {
  std::string kind;                // cifar10 | stl10 | image_folder | synthetic
  std::string data_dir;            // dataset root
  int64_t batch_size = 256;
  int64_t num_workers = 2;         // loader threads
  int64_t img_size = 32;           // image_folder: crop size
  int64_t crops_per_image = 64;    // image_folder: random crops drawn per photo per epoch
  int64_t val_crops_per_image = 16;  // image_folder: fixed validation crops per photo
  int64_t max_crop_side = 0;         // image_folder: largest crop side before resizing (0: whole photo;
                                     // img_size: native-resolution crops only, as the sender's tiles)
};

struct TrainConfig {
  int64_t seed_everything = 0;
  std::string name;                // run name (default: from the model class)
  TrainerConfig trainer;
  std::string model_class;         // mt.MaePretraining | mt.MaskerTraining | mt.CodecTraining | mt.ConvCodecTraining |
                                   // mt.LatentMaePretraining
  MaeTaskConfig mae;
  MaskerTaskConfig masker;
  CodecTaskConfig codec;
  ConvCodecTaskConfig conv_codec;
  LatentMaeTaskConfig latent_mae;
  DataConfig data;
  std::vector<std::string> warnings;  // one line per unsupported-but-harmless key
};

inline constexpr char kMaeTaskClass[] = "mt.MaePretraining";
inline constexpr char kMaskerTaskClass[] = "mt.MaskerTraining";
inline constexpr char kCodecTaskClass[] = "mt.CodecTraining";
inline constexpr char kConvCodecTaskClass[] = "mt.ConvCodecTraining";
inline constexpr char kLatentMaeTaskClass[] = "mt.LatentMaePretraining";

// "DD:HH:MM:SS" → seconds, or −1 if malformed.
double MaxTimeSeconds(const std::string& text);

// Validates and converts the merged YAML. Unknown or wrongly-typed keys are INVALID_ARGUMENT
// naming the dotted key; known-unsupported keys (wandb logger, compile, callbacks…) become warnings.
absl::StatusOr<TrainConfig> ParseTrainConfig(const YamlConfig& config);

}  // namespace mt
