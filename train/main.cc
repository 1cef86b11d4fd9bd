// mt-train: LightningCLI-style trainer for the MAE and the masker.
//   mt-train fit --config configs/masker_config_cifar10.yaml --model.init_args.lr=3e-4
//   mt-train validate --config ... --ckpt_path runs/mae/version_0/checkpoints/best.pt
//   mt-train fit --config ... --trainer.devices=2     (2 data-parallel processes: train/launcher.h)
// Arguments are parsed here (not with ABSL_FLAG) because any dotted config key is a flag.
#include "core/runtime/blas_core.h"
#include "core/runtime/log.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/config/train_config.h"
#include "core/config/yaml_config.h"
#include "core/data/dataset_factory.h"
#include "core/io/checkpoint.h"
#include "core/io/latent_mae_checkpoint.h"
#include "core/runtime/cpu_runtime.h"
#include "core/train/data_parallel.h"
#include "core/train/fit_loop.h"
#include "core/train/codec_task.h"
#include "core/train/conv_codec_task.h"
#include "core/train/latent_mae_task.h"
#include "core/train/mae_task.h"
#include "core/train/masker_task.h"
#include "core/train/run_directory.h"
#include "train/export_codec.h"
#include "train/import_mae.h"
#include "train/launcher.h"

namespace {

constexpr char kUsage[] = R"(mt-train: train the MAE, the masker, the latent codecs or the latent MAE (LightningCLI conventions)

usage: mt-train {fit|validate} --config FILE [--config FILE2 ...] [--KEY=VALUE ...]
                [--ckpt_path CKPT] [--print_config]
       mt-train export --ckpt_path CKPT --out FILE [--fp16] [--steps LO:HI:LEVELS]
                       [--context_data DIR|none|keep] [--context_buckets N]
       mt-train import --from OFFICIAL.pth --out FILE [--num_heads N] [--decoder_num_heads N]
                       [--no_imagenet_norm] [--fp16]

  fit        train; with --ckpt_path, resume exactly (optimizer, step, data order, RNG)
  validate   evaluate --ckpt_path on the validation split and print the metrics
  export     write only the weights and options of CKPT (no optimizer state) to FILE, e.g.
             for weights/; --fp16 stores floats as fp16 (loaded back as fp32). A codec's export
             also computes its integer coding tables for LEVELS quantisation steps from LO to HI
             (geometric; default 0.5:8:12) and is always fp32. It then fits the spatial-context
             tables (N magnitude buckets, default 4) to the codec's latents of the photos
             under DIR, recursively (default data/photos/train; scripts/fetch_photos.sh, or
             data/corpus/train); `none` keeps only the factorized prior's tables. A conv codec
             (mt.ConvCodecTraining) has learned levels: --steps does not apply; `keep` rewrites
             an exported conv codec with its tables as they are, in the compact ragged layout
             (older exported files store them zero-padded). A conv codec with a hyperprior
             (hyper_channels) instead calibrates its predicted scales to the full-size photos
             under DIR (`none`: as trained) and stores its side and Gaussian tables
  import     convert a facebookresearch/mae checkpoint (torch.save of {"model": state_dict},
             e.g. mae_visualize_vit_base.pth; the decoder is needed, so not mae_pretrain_*) to
             our MAE checkpoint: the architecture is read off the tensor shapes (encoder heads
             width/64, ViT-H 16; decoder heads 16: override with --num_heads/--decoder_num_heads)
             and the ImageNet mean/std input normalisation is recorded (--no_imagenet_norm: none)
  --config   YAML file; several are merged in order (later wins)
  --KEY=VALUE  override any config key by its dotted path, e.g.
             --model.init_args.lr=3e-4 --data.init_args.batch_size=256 --trainer.max_steps=1000
  --print_config  print the merged config and exit
  --threads N     CPU intra-op threads (default: all cores; with trainer.devices > 1 on CPU,
                  the cores divided by the processes per node)
  --rendezvous_timeout_s S  data-parallel: give up joining the job after S s (default 300)
  --collective_timeout_s S  data-parallel: give up on one collective after S s (default 1800;
                  the other ranks wait in one while rank 0 validates)

Data-parallel training (Lightning's strategy ddp; gradients averaged every optimizer step,
data.batch_size per process, rank 0 validates and writes every file):
  mt-train fit --config C --trainer.devices=2       starts and supervises the 2 ranks itself
  torchrun --nproc_per_node=2 mt-train fit --config C --trainer.devices=2
             or any launcher setting WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
  trainer.num_nodes=N: run it on every node with NODE_RANK, MASTER_ADDR, MASTER_PORT set

Outputs go to <trainer.default_root_dir>/<name>/version_N/: config.yaml, metrics.csv,
checkpoints/{last,best}.pt, viz/step_*.png. Configs: configs/*.yaml.
)";

struct Args {
  std::string command;
  std::vector<std::string> configs;
  std::vector<std::pair<std::string, std::string>> overrides;
  std::string ckpt_path;
  bool print_config = false;
  bool fp16 = false;
  std::string out;
  std::string steps;  // export of a codec: lo:hi:levels
  std::string context_data = "data/photos/train";  // export of a codec: photos for the context tables
  int context_buckets = 4;
  int threads = 0;
  double rendezvous_timeout_s = 300;
  double collective_timeout_s = 1800;
  mt::train_cli::MaeImportArgs import;  // mt-train import
};

// Returns an error text, or empty on success.
std::string ParseArgs(int argc, char** argv, Args* a) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (!absl::StartsWith(arg, "--")) {
      if (!a->command.empty()) return absl::StrCat("unexpected argument '", arg, "'");
      a->command = arg;
      continue;
    }
    std::string key = arg.substr(2), value;
    const size_t eq = key.find('=');
    const bool flag_only = key == "print_config" || key == "help" || key == "fp16" || key == "no_imagenet_norm";
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (!flag_only) {
      if (i + 1 >= args.size()) return absl::StrCat("--", key, " needs a value");
      value = args[++i];
    }
    if (key == "help") return "help";
    if (key == "config") a->configs.push_back(value);
    else if (key == "ckpt_path") a->ckpt_path = value;
    else if (key == "print_config") a->print_config = true;
    else if (key == "fp16") a->fp16 = a->import.fp16 = true;
    else if (key == "from") a->import.from = value;
    else if (key == "num_heads") a->import.num_heads = std::atoi(value.c_str());
    else if (key == "decoder_num_heads") a->import.decoder_num_heads = std::atoi(value.c_str());
    else if (key == "no_imagenet_norm") a->import.imagenet_normalization = false;
    else if (key == "out") a->out = value;
    else if (key == "steps") a->steps = value;
    else if (key == "context_data") a->context_data = value;
    else if (key == "context_buckets") a->context_buckets = std::atoi(value.c_str());
    else if (key == "threads") a->threads = std::atoi(value.c_str());
    else if (key == "rendezvous_timeout_s") a->rendezvous_timeout_s = std::atof(value.c_str());
    else if (key == "collective_timeout_s") a->collective_timeout_s = std::atof(value.c_str());
    else a->overrides.emplace_back(key, value);
  }
  if (a->command != "fit" && a->command != "validate" && a->command != "export" && a->command != "import")
    return "the first argument must be 'fit', 'validate', 'export' or 'import'";
  a->import.out = a->out;
  if (!(a->rendezvous_timeout_s > 0) || !(a->collective_timeout_s > 0))
    return "--rendezvous_timeout_s and --collective_timeout_s must be > 0";
  return "";
}

int Fail(const absl::Status& s) {
  mt::log::error("{}", s.ToString());
  return 1;
}

// Re-saves a (training) checkpoint as weights + options only.
absl::Status Export(const Args& args) {
  if (args.ckpt_path.empty() || args.out.empty()) return absl::InvalidArgumentError("export needs --ckpt_path and --out");
  absl::StatusOr<mt::CheckpointInfo> info = mt::ReadCheckpointInfo(args.ckpt_path);
  if (!info.ok()) return info.status();
  const mt::WeightStorage storage = args.fp16 ? mt::WeightStorage::kFloat16 : mt::WeightStorage::kFloat32;
  if (info->kind == "mae") {
    absl::StatusOr<mt::MaskedAutoencoder> m = mt::LoadMae(args.ckpt_path);
    if (!m.ok()) return m.status();
    return mt::SaveCheckpoint(args.out, *m, storage);
  }
  if (info->kind == "codec" || info->kind == "conv_codec" || info->kind == "conv_hyper_codec") {
    mt::train_cli::CodecExportArgs codec;
    codec.ckpt_path = args.ckpt_path;
    codec.out = args.out;
    codec.steps = args.steps;
    codec.context_data = args.context_data;
    codec.context_buckets = args.context_buckets;
    return info->kind == "codec" ? mt::train_cli::ExportCodec(codec) : mt::train_cli::ExportConvCodec(codec);
  }
  if (info->kind == mt::kLatentMaeKind) {
    absl::StatusOr<mt::LatentMae> m = mt::LoadLatentMae(args.ckpt_path);
    if (!m.ok()) return m.status();
    return mt::SaveCheckpoint(args.out, *m, nullptr);
  }
  absl::StatusOr<mt::Masker> m = mt::LoadMasker(args.ckpt_path);
  if (!m.ok()) return m.status();
  return mt::SaveCheckpoint(args.out, *m, storage);
}

// Merges the --config files in order, then applies the --KEY=VALUE overrides.
absl::Status MergeConfigs(const Args& args, mt::YamlConfig* merged) {
  for (const std::string& path : args.configs) {
    absl::StatusOr<mt::YamlConfig> c = mt::YamlConfig::FromFile(path);
    if (!c.ok()) return c.status();
    merged->Merge(*c);
  }
  for (const auto& [key, value] : args.overrides)
    if (absl::Status s = merged->Override(key, value); !s.ok()) return s;
  return absl::OkStatus();
}

// Sets this process's CPU threads and its random stream; rank 0 logs the runtime.
void ConfigureProcess(const Args& args, const mt::TrainConfig& config, const mt::train_cli::WorldSpec& world) {
  int threads = args.threads;
  if (threads == 0 && world.world_size > 1 && std::getenv("OMP_NUM_THREADS") == nullptr)  // share the cores
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency() / config.trainer.devices));
  const std::string runtime = mt::ConfigureCpuRuntime({threads, true});
  if (world.rank == 0) mt::log::info("runtime: {}", runtime);
  // Each rank its own stream (MAE masks differ across ranks); the data order and augmentations
  // are seeded by seed_everything alone, so every rank agrees on them.
  at::manual_seed(static_cast<uint64_t>(config.seed_everything + world.rank));
}

// The task model.class_path names; INVALID_ARGUMENT when a codec's MAE disagrees with data.img_size.
absl::StatusOr<std::unique_ptr<mt::TrainingTask>> MakeTask(const mt::TrainConfig& config) {
  std::unique_ptr<mt::TrainingTask> task;
  if (config.model_class == mt::kMaeTaskClass) {
    task = std::make_unique<mt::MaeTask>(config.mae);
  } else if (config.model_class == mt::kCodecTaskClass) {
    absl::StatusOr<std::unique_ptr<mt::CodecTask>> t = mt::CodecTask::Create(config.codec);
    if (!t.ok()) return t.status();
    if (const int64_t s = (*t)->codec_image_size(); s != config.data.img_size && config.data.kind != "cifar10" &&
                                                    config.data.kind != "stl10")
      return absl::InvalidArgumentError(absl::StrCat("config key 'data.init_args.img_size' (", config.data.img_size,
                                                     ") must equal the MAE's img_size (", s, ")"));
    task = std::move(*t);
  } else if (config.model_class == mt::kLatentMaeTaskClass) {
    absl::StatusOr<std::unique_ptr<mt::LatentMaeTask>> t = mt::LatentMaeTask::Create(config.latent_mae);
    if (!t.ok()) return t.status();
    task = std::move(*t);
  } else if (config.model_class == mt::kConvCodecTaskClass) {
    absl::StatusOr<std::unique_ptr<mt::ConvCodecTask>> t = mt::ConvCodecTask::Create(config.conv_codec);
    if (!t.ok()) return t.status();
    task = std::move(*t);
  } else {
    absl::StatusOr<std::unique_ptr<mt::MaskerTask>> t = mt::MaskerTask::Create(config.masker);
    if (!t.ok()) return t.status();
    task = std::move(*t);
  }
  return task;
}

// The validation loader's options: every batch in order (at most trainer.limit_val_batches).
mt::DataLoaderOptions ValLoaderOptions(const mt::TrainConfig& config) {
  mt::DataLoaderOptions val_opts;
  val_opts.batch_size = config.data.batch_size;
  val_opts.shuffle = false;
  val_opts.drop_last = false;
  val_opts.num_workers = config.data.num_workers;
  val_opts.limit_batches = config.trainer.limit_val_batches;
  return val_opts;
}

// The train loader's options: shuffled by seed_everything, this rank's shard of every epoch.
mt::DataLoaderOptions TrainLoaderOptions(const mt::TrainConfig& config, const mt::TrainDevice& device,
                                         const mt::train_cli::WorldSpec& world) {
  mt::DataLoaderOptions train_opts;
  train_opts.batch_size = config.data.batch_size;
  train_opts.num_workers = config.data.num_workers;
  train_opts.seed = static_cast<uint64_t>(config.seed_everything);
  train_opts.pin_memory = device.device.is_cuda();
  train_opts.rank = world.rank;
  train_opts.world_size = world.world_size;
  return train_opts;
}

// validate: prints the metrics of --ckpt_path on the validation split; returns the exit code.
int RunValidate(const Args& args, mt::TrainingTask& task, mt::DataLoader& val, const mt::TrainDevice& device) {
  if (args.ckpt_path.empty()) return Fail(absl::InvalidArgumentError("validate needs --ckpt_path"));
  absl::StatusOr<std::map<std::string, double>> m = mt::ValidateCheckpoint(task, val, device, args.ckpt_path);
  if (!m.ok()) return Fail(m.status());
  for (const auto& [k, v] : *m) std::printf("%s\t%.6g\n", k.c_str(), v);
  return 0;
}

// The run directory (empty on ranks other than 0 of a new run); rank 0 writes config.yaml there.
absl::StatusOr<std::string> PrepareRunDirectory(const Args& args, const mt::TrainConfig& config,
                                                const mt::YamlConfig& merged, bool chief) {
  // Resuming from <run>/checkpoints/x.pt continues in <run>; otherwise a new version_N.
  // Only rank 0 writes files, so only it needs a run directory.
  std::string run_dir;
  namespace fs = std::filesystem;
  if (!args.ckpt_path.empty() && fs::path(args.ckpt_path).parent_path().filename() == "checkpoints") {
    run_dir = fs::path(args.ckpt_path).parent_path().parent_path().string();
  } else if (chief) {
    absl::StatusOr<std::string> dir = mt::CreateRunDirectory(config.trainer.default_root_dir, config.name);
    if (!dir.ok()) return dir.status();
    run_dir = *dir;
  }
  if (chief) {
    if (absl::Status s = mt::WriteTextFile(run_dir + "/config.yaml", merged.ToString()); !s.ok()) return s;
    mt::log::info("run directory: {}", run_dir);
  }
  return run_dir;
}

// This rank's connection to its peers; null when the job is this process alone.
absl::StatusOr<std::unique_ptr<mt::DataParallelGroup>> ConnectGroup(const Args& args,
                                                                     const mt::train_cli::WorldSpec& world,
                                                                     const mt::TrainDevice& device) {
  std::unique_ptr<mt::DataParallelGroup> group;
  if (world.world_size <= 1) return group;
  mt::DataParallelOptions dp;
  dp.rank = world.rank;
  dp.world_size = world.world_size;
  dp.master_addr = world.master_addr;
  dp.master_port = world.master_port;
  dp.rendezvous_timeout_s = args.rendezvous_timeout_s;
  dp.collective_timeout_s = args.collective_timeout_s;
  dp.device = device.device;
  absl::StatusOr<std::unique_ptr<mt::DataParallelGroup>> g = mt::DataParallelGroup::Connect(dp);
  if (!g.ok()) return g.status();
  group = std::move(*g);
  if (world.rank == 0)
    mt::log::info("data-parallel: {} processes ({}), rendezvous at {}:{}", world.world_size, group->backend(),
                  world.master_addr, world.master_port);
  return group;
}

// fit and validate (argv: the whole command line, re-run by the ranks this process may start);
// returns the exit code.
int RunTrainer(const Args& args, int argc, char** argv) {
  mt::YamlConfig merged;
  if (absl::Status s = MergeConfigs(args, &merged); !s.ok()) return Fail(s);
  // Parsed before --print_config too: a misspelt key is refused there as by fit (LightningCLI does).
  absl::StatusOr<mt::TrainConfig> config = mt::ParseTrainConfig(merged);
  if (!config.ok()) return Fail(config.status());
  if (args.print_config) {
    std::printf("%s", merged.ToString().c_str());
    return 0;
  }
  // validate runs in one process whatever trainer.devices says.
  mt::train_cli::WorldSpec world;
  if (args.command == "fit") {
    absl::StatusOr<mt::train_cli::WorldSpec> w = mt::train_cli::ResolveWorld(config->trainer);
    if (!w.ok()) return Fail(w.status());
    world = *w;
  }
  // A plain launch of a multi-process job only starts and supervises the ranks.
  if (world.spawn_local_ranks)
    return mt::train_cli::RunLocalRanks(world, static_cast<int>(config->trainer.devices),
                                        std::vector<std::string>(argv, argv + argc));
  const bool chief = world.rank == 0;
  ConfigureProcess(args, *config, world);
  absl::StatusOr<mt::TrainDevice> device = mt::SelectTrainDevice(config->trainer.accelerator, config->trainer.precision,
                                                                 &config->warnings, world.local_rank);
  if (!device.ok()) return Fail(device.status());
  if (chief)
    for (const std::string& w : config->warnings) mt::log::warn("{}", w);
  absl::StatusOr<std::unique_ptr<mt::TrainingTask>> task = MakeTask(*config);
  if (!task.ok()) return Fail(task.status());

  absl::StatusOr<std::unique_ptr<mt::ImageDataset>> val_set = mt::MakeDataset(config->data, mt::Split::kVal);
  if (!val_set.ok()) return Fail(val_set.status());
  mt::DataLoader val(std::shared_ptr<const mt::ImageDataset>(std::move(*val_set)), ValLoaderOptions(*config));
  if (args.command == "validate") return RunValidate(args, **task, val, *device);

  absl::StatusOr<std::unique_ptr<mt::ImageDataset>> train_set = mt::MakeDataset(config->data, mt::Split::kTrain);
  if (!train_set.ok()) return Fail(train_set.status());
  mt::DataLoader train(std::shared_ptr<const mt::ImageDataset>(std::move(*train_set)),
                       TrainLoaderOptions(*config, *device, world));
  absl::StatusOr<std::string> run_dir = PrepareRunDirectory(args, *config, merged, chief);
  if (!run_dir.ok()) return Fail(run_dir.status());
  absl::StatusOr<std::unique_ptr<mt::DataParallelGroup>> group = ConnectGroup(args, world, *device);
  if (!group.ok()) return Fail(group.status());
  mt::FitOptions fit{*run_dir, args.ckpt_path};
  fit.group = group->get();
  if (absl::Status s = mt::Fit(*config, **task, train, val, *device, fit); !s.ok()) return Fail(s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  Args args;
  if (std::string err = ParseArgs(argc, argv, &args); !err.empty()) {
    std::fprintf(err == "help" ? stdout : stderr, "%s%s", err == "help" ? "" : ("mt-train: " + err + "\n\n").c_str(),
                 kUsage);
    return err == "help" ? 0 : 2;
  }
  if (args.command == "import") {
    absl::Status s = mt::train_cli::ImportOfficialMae(args.import);
    return s.ok() ? 0 : Fail(s);
  }
  if (args.command == "export") {
    absl::Status s = Export(args);
    if (!s.ok()) return Fail(s);
    mt::log::info("wrote {}", args.out);
    return 0;
  }
  return RunTrainer(args, argc, argv);
}
