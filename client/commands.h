// mt-client subcommands. Flags live in main.cc and fill these configs.
#pragma once

#include <string>
#include <vector>

#include "core/codec/feature_codec.h"
#include "core/codec/packet.h"
#include "core/config/model_paths.h"
#include "core/masking/patch_selector.h"
#include "core/runtime/compute_precision.h"

namespace mt::client {

struct Connection {
  std::string target = "localhost:50051";  // host:port
  std::string token;                       // bearer token (empty: none)
  bool tls = false;
  std::string ca, cert, key;               // PEM files (ca: trust root; cert/key: mTLS)
  std::string tls_name;                    // name to check in the server certificate
  double deadline_s = 60;                  // per call
};

struct SendConfig {
  Connection connection;
  double keep_ratio = -1;   // one of keep_ratio / threshold / max_bytes (all unset: sender default)
  double threshold = -1;
  long long max_bytes = -1;
  PayloadKind payload = PayloadKind::kFeatures;
  Precision precision = Precision::kFp16;
  int latent_level = -1;    // payload latent: step level (< 0: the sender's default)
  double target_psnr = 0;   // payload latent, > 0: the sender picks the cheapest level reaching this PSNR
  std::string out_dir;      // reconstructions + visualisation grid (empty: none)
  bool quality = true;      // ask for PSNR/SSIM of the stored image (SendRequest.measure_quality)
};

struct LocalConfig {
  // Empty: untrained (a pipeline check only).
  std::string mae_checkpoint = kDefaultMaeCheckpoint, masker_checkpoint = kDefaultMaskerCheckpoint;
  int seed = 0;                                   // for untrained models
  double keep_ratio = kDefaultKeepRatio;          // top-k selection, unless threshold >= 0
  double threshold = -1;
  bool full_context = false;                      // features: encoder sees every patch (else only the kept)
  std::string out_dir = "demo-out";               // <stem>_grid.png, <stem>_recon.png, grid.png
  // latent: PacketEncoder → PacketDecoder with the codec; any other payload: the TileReconstructor.
  PayloadKind payload = PayloadKind::kFeatures;
  std::string codec_checkpoint = kDefaultCodecCheckpoint;
  int64_t latent_level = -1;                      // latent step level (< 0: the codec's default)
  ComputePrecision compute = ComputePrecision::kFloat32;  // latent: the models' arithmetic
};

struct BenchConfig {
  std::string images_dir;                 // every decodable file in it
  std::string mae_checkpoint = kDefaultMaeCheckpoint, masker_checkpoint = kDefaultMaskerCheckpoint;
  std::string codec_checkpoint = kDefaultCodecCheckpoint;  // latent rows (empty: none)
  std::vector<std::string> payloads;      // payload kinds to measure (empty: all); codecs always run
  std::vector<double> latent_keep_ratios = {0.25, 0.5, 0.75};  // latent rows besides keeping every patch
  std::vector<int64_t> latent_levels;     // step levels of the latent rows (empty: all)
  bool latent_baselines = true;           // latent rows also for random and grid selections
  int crop = 0;                           // > 0: evenly spaced native crop×crop crops instead of whole images
  int crops_per_image = 16;
  std::vector<double> keep_ratios = {0.05, 0.1, 0.16, 0.25, 0.35, 0.5};
  std::string csv, report, plot;          // outputs (empty: skip)
  bool remote = false;                    // masker settings through the daemons at `connection`
  ComputePrecision compute = ComputePrecision::kFloat32;  // in-process models' arithmetic
  Connection connection;
};

struct LoadConfig {
  Connection connection;
  std::vector<std::string> images;        // files and/or folders
  int crop = 0;                           // > 0: send evenly spaced crop×crop crops of each image
  int crops_per_image = 16;
  std::vector<int> concurrency = {1, 4, 16, 32};
  double duration_s = 20;                 // per level (ignored when requests > 0)
  int64_t requests = 0;                   // > 0: this many requests per level instead of a duration
  double warmup_s = 2;                    // per level, not recorded
  double keep_ratio = -1;                 // <= 0: the sender's default
  PayloadKind payload = PayloadKind::kFeatures;
  Precision precision = Precision::kFp16;
  std::string id_prefix = "load";         // ids are <prefix>-c<concurrency>-<n>
  bool verify = false;                    // ask for each reconstruction and record its content hash
  bool quality = true;                    // ask for PSNR/SSIM of each stored image (measure_quality)
  std::string csv, requests_csv, rss_csv; // outputs (empty: skip)
  std::vector<std::string> watch;         // name=pid of processes whose RSS to sample
  double rss_interval_s = 0.5;
};

// One centre tile per image in-process; prints a row per image and writes the pictures to
// out_dir. Exit code 0 when every image went through, 1 on a failure, 2 for bad arguments.
int RunLocal(const LocalConfig& config, const std::vector<std::string>& images);
// In-process rate–distortion sweep (masker vs random vs grid, payloads × precisions, the anchor
// codecs JPEG, WebP, AVIF, JPEG XL, and PNG). Exit code 0 on success.
int RunBench(const BenchConfig& config);

// Sends each image file; prints one table row per image. Exit code 0 when all succeeded.
int RunSend(const SendConfig& config, const std::vector<std::string>& images);
// Closed-loop load against mt-sender at each concurrency level; markdown table on stdout.
// Exit code 0 when every request succeeded.
int RunLoad(const LoadConfig& config);
// grpc.health.v1 Check of the whole server; 0 when SERVING.
int RunHealth(const Connection& connection);
// Prints the sender's (or receiver's, with --role receiver) model and link information.
int RunInfo(const Connection& connection, const std::string& role);

}  // namespace mt::client
