#include "core/config/train_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/config/conv_codec_config.h"
#include "core/config/latent_mae_config.h"
#include "core/config/model_config.h"

namespace mt {
namespace {

using Setter = std::function<absl::Status(const YAML::Node&, const std::string& key)>;

template <typename T>
Setter Scalar(T* target) {
  return [target](const YAML::Node& node, const std::string& key) -> absl::Status {
    try {
      if (!node.IsScalar()) throw YAML::Exception(YAML::Mark::null_mark(), "not a scalar");
      *target = node.as<T>();
    } catch (const YAML::Exception&) {
      return absl::InvalidArgumentError(absl::StrCat("config key '", key, "' has the wrong type (got '",
                                                     YAML::Dump(node), "')"));
    }
    return absl::OkStatus();
  };
}

Setter OneOf(std::string* target, std::set<std::string> allowed) {
  return [target, allowed](const YAML::Node& node, const std::string& key) -> absl::Status {
    std::string v;
    if (absl::Status s = Scalar(&v)(node, key); !s.ok()) return s;
    if (!allowed.count(v))
      return absl::InvalidArgumentError(absl::StrCat("config key '", key, "' must be one of {",
                                                     absl::StrJoin(allowed, ", "), "}, got '", v, "'"));
    *target = v;
    return absl::OkStatus();
  };
}

// Keeps the node for a later pass (sections read once their selecting key is known).
Setter Capture(YAML::Node* target) {
  return [target](const YAML::Node& node, const std::string&) {
    *target = node;
    return absl::OkStatus();
  };
}

// Keys a LightningCLI config may carry that this trainer ignores (one warning each).
const std::set<std::string>& IgnoredKeys() {
  static const std::set<std::string> kKeys = {
      "trainer.logger", "trainer.callbacks",
      "trainer.benchmark", "trainer.deterministic", "trainer.enable_checkpointing",
      "trainer.enable_model_summary", "trainer.fast_dev_run", "trainer.profiler",
      "trainer.num_sanity_val_steps", "trainer.sync_batchnorm", "model.init_args.compile",
      "data.init_args.pin_memory", "data.init_args.persistent_workers", "ckpt_path", "optimizer",
      "lr_scheduler"};
  return kKeys;
}

// Applies `setters` to the keys of `node` (a mapping at dotted `path`).
absl::Status ReadSection(const YAML::Node& node, const std::string& path,
                         const std::map<std::string, Setter>& setters, std::vector<std::string>* warnings) {
  if (!node || node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) return absl::InvalidArgumentError(absl::StrCat("config key '", path, "' must be a mapping"));
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const std::string full = path.empty() ? key : absl::StrCat(path, ".", key);
    auto it = setters.find(key);
    if (it != setters.end()) {
      if (absl::Status s = it->second(kv.second, full); !s.ok()) return s;
    } else if (IgnoredKeys().count(full)) {
      warnings->push_back(absl::StrCat("'", full, "' is not supported by the C++ trainer; ignored"));
    } else {
      std::vector<std::string> known;
      for (const auto& s : setters) known.push_back(s.first);
      return absl::InvalidArgumentError(absl::StrCat("unknown config key '", full, "' (known here: ",
                                                     absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

std::map<std::string, Setter> TrainerSetters(TrainerConfig* t) {
  return {{"max_epochs", Scalar(&t->max_epochs)},
          {"max_steps", Scalar(&t->max_steps)},
          {"max_time", Scalar(&t->max_time)},
          {"precision", OneOf(&t->precision, {"32", "32-true", "bf16-mixed", "16-mixed", "bf16", "16"})},
          {"accelerator", OneOf(&t->accelerator, {"auto", "cpu", "cuda", "gpu"})},
          {"devices", Scalar(&t->devices)},
          {"num_nodes", Scalar(&t->num_nodes)},
          {"strategy", OneOf(&t->strategy, {"auto", "ddp", "single_device"})},
          {"gradient_clip_val", Scalar(&t->gradient_clip_val)},
          {"accumulate_grad_batches", Scalar(&t->accumulate_grad_batches)},
          {"log_every_n_steps", Scalar(&t->log_every_n_steps)},
          {"check_val_every_n_epoch", Scalar(&t->check_val_every_n_epoch)},
          {"val_every_n_steps", Scalar(&t->val_every_n_steps)},
          {"limit_val_batches", Scalar(&t->limit_val_batches)},
          {"default_root_dir", Scalar(&t->default_root_dir)},
          {"enable_progress_bar", Scalar(&t->enable_progress_bar)}};
}

// Splits init_args into model-option keys (checked by model_config) and task keys.
absl::Status ReadInitArgs(const YAML::Node& node, const std::string& path, bool (*is_model_key)(std::string_view),
                          std::map<std::string, Setter> task, std::string* model_yaml,
                          std::vector<std::string>* warnings) {
  if (!node || node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) return absl::InvalidArgumentError(absl::StrCat("config key '", path, "' must be a mapping"));
  YAML::Node model(YAML::NodeType::Map), rest(YAML::NodeType::Map);
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    (is_model_key(key) ? model : rest)[key] = kv.second;
  }
  *model_yaml = YAML::Dump(model);
  return ReadSection(rest, path, task, warnings);
}

absl::Status Prefixed(const absl::Status& s, const std::string& path) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat("in '", path, "': ", s.message()));
}

// model.init_args of mt.ConvCodecTraining.
absl::Status ReadConvCodecArgs(const YAML::Node& args, ConvCodecTaskConfig* m, std::vector<std::string>* warnings) {
  std::string model_yaml;
  absl::Status s = ReadInitArgs(
      args, "model.init_args", &IsConvCodecOptionKey,
      {{"init_checkpoint", Scalar(&m->init_checkpoint)}, {"finer_levels", Scalar(&m->finer_levels)},
       {"lambda_max", Scalar(&m->lambda_max)},
       {"lambda_min", Scalar(&m->lambda_min)}, {"base_lr", Scalar(&m->base_lr)}, {"lr", Scalar(&m->lr)},
       {"weight_decay", Scalar(&m->weight_decay)}, {"beta1", Scalar(&m->beta1)}, {"beta2", Scalar(&m->beta2)},
       {"warmup_fraction", Scalar(&m->warmup_fraction)}, {"trainable", Scalar(&m->trainable)}},
      &model_yaml, warnings);
  if (!s.ok()) return s;
  if (m->trainable != "all" && m->trainable != "entropy")
    return absl::InvalidArgumentError(
        absl::StrCat("config key 'model.init_args.trainable' must be all or entropy, got '", m->trainable, "'"));
  absl::StatusOr<ConvCodecOptions> o = ConvCodecOptionsFromYaml(model_yaml);
  if (!o.ok()) return Prefixed(o.status(), "model.init_args");
  if (m->finer_levels < 0 || m->finer_levels >= o->levels)
    return absl::InvalidArgumentError(absl::StrCat("config key 'model.init_args.finer_levels' must be in [0, levels), got ",
                                                   m->finer_levels));
  if (m->finer_levels > 0 && m->init_checkpoint.empty())
    return absl::InvalidArgumentError("config key 'model.init_args.finer_levels' adds levels to init_checkpoint: set it");
  m->model = *o;
  if (!(m->lambda_min > 0 && m->lambda_max >= m->lambda_min))
    return absl::InvalidArgumentError("config keys 'model.init_args.lambda_min/lambda_max' need 0 < lambda_min <= lambda_max");
  return absl::OkStatus();
}

// The latent MAE's option keys a config sets (its channels and levels are the codec's).
bool IsLatentMaeConfigKey(std::string_view key) {
  return IsLatentMaeOptionKey(key) && key != "latent_channels" && key != "levels";
}

// model.init_args of mt.LatentMaePretraining.
absl::Status ReadLatentMaeArgs(const YAML::Node& args, LatentMaeTaskConfig* m, std::vector<std::string>* warnings) {
  std::string model_yaml;
  absl::Status s = ReadInitArgs(
      args, "model.init_args", &IsLatentMaeConfigKey,
      {{"codec_checkpoint", Scalar(&m->codec_checkpoint)}, {"init_checkpoint", Scalar(&m->init_checkpoint)},
       {"min_mask_ratio", Scalar(&m->min_mask_ratio)}, {"max_mask_ratio", Scalar(&m->max_mask_ratio)},
       {"latent_loss_weight", Scalar(&m->latent_loss_weight)}, {"base_lr", Scalar(&m->base_lr)}, {"lr", Scalar(&m->lr)},
       {"weight_decay", Scalar(&m->weight_decay)}, {"beta1", Scalar(&m->beta1)}, {"beta2", Scalar(&m->beta2)},
       {"warmup_fraction", Scalar(&m->warmup_fraction)}},
      &model_yaml, warnings);
  if (!s.ok()) return s;
  absl::StatusOr<LatentMaeOptions> o = LatentMaeOptionsFromYaml(model_yaml);
  if (!o.ok()) return Prefixed(o.status(), "model.init_args");
  m->model = *o;
  if (m->codec_checkpoint.empty())
    return absl::InvalidArgumentError("config key 'model.init_args.codec_checkpoint' is required for latent MAE training");
  if (!(m->min_mask_ratio >= 0 && m->min_mask_ratio <= m->max_mask_ratio && m->max_mask_ratio < 1))
    return absl::InvalidArgumentError("config keys 'model.init_args.min_mask_ratio/max_mask_ratio' need 0 <= min <= max < 1");
  if (!(m->latent_loss_weight >= 0)) return absl::InvalidArgumentError("config key 'model.init_args.latent_loss_weight' must be >= 0");
  return absl::OkStatus();
}

// model.init_args of mt.CodecTraining (the MAE options come from mae_checkpoint, not the config).
absl::Status ReadCodecArgs(const YAML::Node& args, CodecTaskConfig* m, std::vector<std::string>* warnings) {
  std::string model_yaml;
  absl::Status s = ReadInitArgs(
      args, "model.init_args", &IsLatentCodecOptionKey,
      {{"mae_checkpoint", Scalar(&m->mae_checkpoint)}, {"masker_checkpoint", Scalar(&m->masker_checkpoint)},
       {"init_checkpoint", Scalar(&m->init_checkpoint)}, {"lambda", Scalar(&m->lmbda)},
       {"min_step", Scalar(&m->min_step)}, {"max_step", Scalar(&m->max_step)},
       {"export_levels", Scalar(&m->export_levels)}, {"keep_all_fraction", Scalar(&m->keep_all_fraction)},
       {"min_keep_ratio", Scalar(&m->min_keep_ratio)}, {"train_decoder", Scalar(&m->train_decoder)},
       {"frozen_compute", OneOf(&m->frozen_compute, {"fp32", "bf16", "auto"})},
       {"base_lr", Scalar(&m->base_lr)}, {"lr", Scalar(&m->lr)}, {"weight_decay", Scalar(&m->weight_decay)},
       {"beta1", Scalar(&m->beta1)}, {"beta2", Scalar(&m->beta2)},
       {"warmup_fraction", Scalar(&m->warmup_fraction)}},
      &model_yaml, warnings);
  if (!s.ok()) return s;
  absl::StatusOr<LatentCodecOptions> o = LatentCodecOptionsFromYaml(model_yaml);
  if (!o.ok()) return Prefixed(o.status(), "model.init_args");
  m->model = *o;
  if (m->mae_checkpoint.empty() || m->masker_checkpoint.empty())
    return absl::InvalidArgumentError(
        "config keys 'model.init_args.mae_checkpoint' and 'model.init_args.masker_checkpoint' are required for codec training");
  if (!(m->min_step > 0 && m->max_step >= m->min_step))
    return absl::InvalidArgumentError("config keys 'model.init_args.min_step/max_step' need 0 < min_step <= max_step");
  if (m->export_levels < 1 || m->export_levels > 64)
    return absl::InvalidArgumentError("config key 'model.init_args.export_levels' must be in [1, 64]");
  if (!(m->keep_all_fraction >= 0 && m->keep_all_fraction <= 1 && m->min_keep_ratio > 0 && m->min_keep_ratio <= 1))
    return absl::InvalidArgumentError("config keys 'keep_all_fraction' and 'min_keep_ratio' must be in [0, 1] and (0, 1]");
  if (!(m->lmbda > 0)) return absl::InvalidArgumentError("config key 'model.init_args.lambda' must be > 0");
  return absl::OkStatus();
}

// devices, num_nodes, strategy and precision: what the trainer can run.
absl::Status CheckParallelism(const TrainerConfig& t) {
  if (t.devices < 1) return absl::InvalidArgumentError("config key 'trainer.devices' must be >= 1");
  if (t.num_nodes < 1) return absl::InvalidArgumentError("config key 'trainer.num_nodes' must be >= 1");
  if (t.strategy == "single_device" && t.devices * t.num_nodes != 1)
    return absl::InvalidArgumentError(absl::StrCat("config key 'trainer.strategy' is single_device but trainer.devices × "
                                                   "trainer.num_nodes is ", t.devices * t.num_nodes,
                                                   "; use strategy ddp (or auto)"));
  if (t.precision == "16-mixed" || t.precision == "16")
    return absl::InvalidArgumentError(absl::StrCat(
        "config key 'trainer.precision': ", t.precision,
        " (fp16 autocast) needs dynamic loss scaling, which the C++ trainer does not implement; "
        "use bf16-mixed (same speed-up on CUDA, no scaling needed) or 32-true"));
  return absl::OkStatus();
}

// model.init_args of mt.MaePretraining.
absl::Status ReadMaeArgs(const YAML::Node& args, MaeTaskConfig* m, std::vector<std::string>* warnings) {
  std::string model_yaml;
  absl::Status s = ReadInitArgs(args, "model.init_args", &IsMaeOptionKey,
                                {{"mask_ratio", Scalar(&m->mask_ratio)}, {"base_lr", Scalar(&m->base_lr)},
                                 {"lr", Scalar(&m->lr)}, {"min_lr", Scalar(&m->min_lr)},
                                 {"weight_decay", Scalar(&m->weight_decay)}, {"beta1", Scalar(&m->beta1)},
                                 {"beta2", Scalar(&m->beta2)}, {"warmup_epochs", Scalar(&m->warmup_epochs)},
                                 {"warmup_steps", Scalar(&m->warmup_steps)}},
                                &model_yaml, warnings);
  if (!s.ok()) return s;
  absl::StatusOr<MaskedAutoencoderOptions> o = MaeOptionsFromYaml(model_yaml);
  if (!o.ok()) return Prefixed(o.status(), "model.init_args");
  m->model = *o;
  if (!(m->mask_ratio > 0 && m->mask_ratio < 1))
    return absl::InvalidArgumentError("config key 'model.init_args.mask_ratio' must be in (0, 1)");
  return absl::OkStatus();
}

// model.init_args of mt.MaskerTraining, with its temperature sub-mapping.
absl::Status ReadMaskerArgs(const YAML::Node& args, MaskerTaskConfig* m, std::vector<std::string>* warnings) {
  TemperatureScheduleOptions& t = m->temperature;
  YAML::Node temperature;
  std::string model_yaml;
  absl::Status s = ReadInitArgs(
      args, "model.init_args", &IsMaskerOptionKey,
      {{"mae_checkpoint", Scalar(&m->mae_checkpoint)},
       {"base_lr", Scalar(&m->base_lr)}, {"lr", Scalar(&m->lr)}, {"weight_decay", Scalar(&m->weight_decay)},
       {"beta1", Scalar(&m->beta1)}, {"beta2", Scalar(&m->beta2)},
       {"warmup_fraction", Scalar(&m->warmup_fraction)}, {"mean_reg", Scalar(&m->mean_reg)},
       {"entropy_reg", Scalar(&m->entropy_reg)}, {"hard", Scalar(&m->hard)},
       {"sample_noise", Scalar(&m->sample_noise)}, {"adjacent_reg", Scalar(&m->adjacent_reg)},
       {"init_checkpoint", Scalar(&m->init_checkpoint)}, {"temperature", Capture(&temperature)}},
      &model_yaml, warnings);
  if (!s.ok()) return s;
  s = ReadSection(temperature, "model.init_args.temperature",
                  {{"start_value", Scalar(&t.start_value)}, {"final_value", Scalar(&t.final_value)},
                   {"start_step", Scalar(&t.start_step)}, {"final_step", Scalar(&t.final_step)}},
                  warnings);
  if (!s.ok()) return s;
  absl::StatusOr<MaskerOptions> o = MaskerOptionsFromYaml(model_yaml);
  if (!o.ok()) return Prefixed(o.status(), "model.init_args");
  m->model = *o;
  if (m->mae_checkpoint.empty())
    return absl::InvalidArgumentError("config key 'model.init_args.mae_checkpoint' is required for masker training");
  if (!(t.start_value > 0 && t.final_value > 0 && t.final_step >= t.start_step))
    return absl::InvalidArgumentError(
        "config key 'model.init_args.temperature' needs values > 0 and final_step >= start_step");
  return absl::OkStatus();
}

// model: class_path decides which init_args are valid.
absl::Status ReadModel(const YAML::Node& model, TrainConfig* c) {
  YAML::Node model_args;
  if (absl::Status s = ReadSection(model, "model",
                                   {{"class_path", OneOf(&c->model_class, {kMaeTaskClass, kMaskerTaskClass,
                                                                           kCodecTaskClass, kConvCodecTaskClass,
                                                                           kLatentMaeTaskClass})},
                                    {"init_args", Capture(&model_args)}},
                                   &c->warnings);
      !s.ok())
    return s;
  if (c->model_class.empty())
    return absl::InvalidArgumentError(absl::StrCat("config key 'model.class_path' is required (", kMaeTaskClass, ", ",
                                                   kMaskerTaskClass, ", ", kCodecTaskClass, ", ",
                                                   kConvCodecTaskClass, " or ", kLatentMaeTaskClass, ")"));
  if (c->model_class == kMaeTaskClass) return ReadMaeArgs(model_args, &c->mae, &c->warnings);
  if (c->model_class == kCodecTaskClass) return ReadCodecArgs(model_args, &c->codec, &c->warnings);
  if (c->model_class == kConvCodecTaskClass) return ReadConvCodecArgs(model_args, &c->conv_codec, &c->warnings);
  if (c->model_class == kLatentMaeTaskClass) return ReadLatentMaeArgs(model_args, &c->latent_mae, &c->warnings);
  return ReadMaskerArgs(model_args, &c->masker, &c->warnings);
}

// data: class_path names the dataset kind, init_args its options.
absl::Status ReadData(const YAML::Node& data, DataConfig* d, std::vector<std::string>* warnings) {
  YAML::Node data_args;
  std::string data_class;
  if (absl::Status s = ReadSection(data, "data",
                                   {{"class_path", OneOf(&data_class, {"mt.data.Cifar10", "mt.data.Stl10",
                                                                       "mt.data.ImageFolder", "mt.data.Synthetic",
                                                                       "mt.data.CropFile"})},
                                    {"init_args", Capture(&data_args)}},
                                   warnings);
      !s.ok())
    return s;
  if (data_class.empty()) return absl::InvalidArgumentError("config key 'data.class_path' is required");
  d->kind = data_class == "mt.data.Cifar10"     ? "cifar10"
            : data_class == "mt.data.Stl10"     ? "stl10"
            : data_class == "mt.data.Synthetic" ? "synthetic"
            : data_class == "mt.data.CropFile"  ? "crop_file"
                                                : "image_folder";
  if (absl::Status s = ReadSection(data_args, "data.init_args",
                                   {{"data_dir", Scalar(&d->data_dir)}, {"batch_size", Scalar(&d->batch_size)},
                                    {"num_workers", Scalar(&d->num_workers)}, {"img_size", Scalar(&d->img_size)},
                                    {"crops_per_image", Scalar(&d->crops_per_image)},
                                    {"val_crops_per_image", Scalar(&d->val_crops_per_image)},
                                    {"max_crop_side", Scalar(&d->max_crop_side)}},
                                   warnings);
      !s.ok())
    return s;
  if (d->max_crop_side < 0)
    return absl::InvalidArgumentError(absl::StrCat("config key 'data.init_args.max_crop_side' must be >= 0, got ",
                                                   d->max_crop_side));
  if (d->data_dir.empty() && d->kind != "synthetic")
    return absl::InvalidArgumentError("config key 'data.init_args.data_dir' is required");
  if (d->batch_size <= 0) return absl::InvalidArgumentError("config key 'data.init_args.batch_size' must be > 0");
  return absl::OkStatus();
}

// The trainer's run length and parallelism, and the data's image size against the model's.
absl::Status CheckRun(const TrainConfig& c) {
  const DataConfig& d = c.data;
  if (c.trainer.accumulate_grad_batches <= 0)
    return absl::InvalidArgumentError("config key 'trainer.accumulate_grad_batches' must be > 0");
  if (absl::Status s = CheckParallelism(c.trainer); !s.ok()) return s;
  if (c.trainer.max_epochs < 0 && c.trainer.max_steps < 0)
    return absl::InvalidArgumentError("set 'trainer.max_epochs' or 'trainer.max_steps'");
  const bool conv_grid = c.model_class == kConvCodecTaskClass || c.model_class == kLatentMaeTaskClass;
  const int64_t model_img = c.model_class == kMaeTaskClass     ? c.mae.model.img_size
                            : c.model_class == kCodecTaskClass ? d.img_size  // checked against the MAE file by mt-train
                            : conv_grid                        ? d.img_size  // any multiple of 16 (below)
                                                               : c.masker.model.img_size;
  if ((d.kind == "image_folder" || d.kind == "synthetic" || d.kind == "crop_file") && d.img_size != model_img)
    return absl::InvalidArgumentError(absl::StrCat("config key 'data.init_args.img_size' (", d.img_size,
                                                   ") must equal the model's img_size (", model_img, ")"));
  if (conv_grid && d.img_size % kConvCodecDownsample != 0)
    return absl::InvalidArgumentError(absl::StrCat("config key 'data.init_args.img_size' (", d.img_size,
                                                   ") must be a multiple of ", kConvCodecDownsample,
                                                   " for the conv codec"));
  if (!c.trainer.max_time.empty() && MaxTimeSeconds(c.trainer.max_time) < 0)
    return absl::InvalidArgumentError(absl::StrCat("config key 'trainer.max_time' must be DD:HH:MM:SS, got '",
                                                   c.trainer.max_time, "'"));
  return absl::OkStatus();
}

}  // namespace

double MaxTimeSeconds(const std::string& text) {
  int d = 0, h = 0, m = 0, s = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%d:%d:%d:%d%c", &d, &h, &m, &s, &extra) != 4 || d < 0 || h < 0 || m < 0 || s < 0)
    return -1;
  return ((d * 24.0 + h) * 60.0 + m) * 60.0 + s;
}

absl::StatusOr<TrainConfig> ParseTrainConfig(const YamlConfig& config) {
  TrainConfig c;
  YAML::Node model, data, trainer;
  std::map<std::string, Setter> top = {{"seed_everything", Scalar(&c.seed_everything)},
                                       {"name", Scalar(&c.name)},
                                       {"trainer", Capture(&trainer)},
                                       {"model", Capture(&model)},
                                       {"data", Capture(&data)}};
  if (absl::Status s = ReadSection(config.root(), "", top, &c.warnings); !s.ok()) return s;
  if (absl::Status s = ReadSection(trainer, "trainer", TrainerSetters(&c.trainer), &c.warnings); !s.ok()) return s;
  if (absl::Status s = ReadModel(model, &c); !s.ok()) return s;
  if (absl::Status s = ReadData(data, &c.data, &c.warnings); !s.ok()) return s;
  if (absl::Status s = CheckRun(c); !s.ok()) return s;
  if (c.name.empty())
    c.name = c.model_class == kMaeTaskClass         ? "mae"
             : c.model_class == kCodecTaskClass     ? "codec"
             : c.model_class == kConvCodecTaskClass ? "conv_codec"
             : c.model_class == kLatentMaeTaskClass ? "latent_mae"
                                                    : "masker";
  return c;
}

}  // namespace mt
