// mt-client: sends images through the adaptive-patch pipeline and reports bandwidth
// against reconstruction quality. `local` runs the whole pipeline in-process (no daemons).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/runtime/blas_core.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/commands.h"
#include "core/config/flags/model_path_flags.h"
#include "core/config/flags/renamed_flag.h"
#include "core/masking/patch_selector.h"
#include "core/runtime/cli_help.h"
#include "core/runtime/cpu_runtime.h"
#include "server/common/flags_util.h"

// The model paths (--mae_checkpoint, --masker_checkpoint, --codec_checkpoint) are every binary's:
// core/config/flags/model_path_flags.h.
ABSL_FLAG(double, keep_ratio, -1,
          absl::StrCat("keep the top round(ratio*L) patches by masker probability (default: local ",
                       mt::kDefaultKeepRatio, " (latent: 1.0), send: the sender's --keep_ratio (latent: 1.0))"));
ABSL_FLAG(double, threshold, -1.0, "if >= 0: keep patches with p > threshold instead of a fixed ratio");
ABSL_FLAG(std::string, context, "visible", "encoder context: 'visible' (only kept patches, MAE's regime) or 'full'");
ABSL_FLAG(std::string, out, "", "directory for reconstructions and visualisation grids (local: default demo-out; "
          "send: none unless given)");
ABSL_FLAG(int, threads, 0, "intra-op CPU threads (0 = all cores)");
ABSL_FLAG(std::string, compute, "fp32", "bench, local --payload latent: model arithmetic in-process, fp32 | bf16 | "
          "int8 | auto (bf16 only where the CPU has native bf16; set it as the daemons' --compute)");
ABSL_FLAG(int, seed, 0, "seed for untrained models");
ABSL_FLAG(std::string, sender, "localhost:50051", "send/info/health: the mt-sender address (host:port)");
ABSL_FLAG(std::string, target, "", "health/info: another address to ask (e.g. the receiver's)");
ABSL_FLAG(std::string, role, "sender", "info: 'sender' or 'receiver' (which service --target runs)");
ABSL_FLAG(int64_t, max_bytes, -1, "send: keep the best patches whose payload fits this many bytes");
ABSL_FLAG(std::string, payload, "latent", "send, load: latent | features | features+pixels | pixels (latent, the "
          "smallest at equal quality, needs the daemons' --codec_checkpoint); local: latent runs the codec, any other "
          "the MAE tile path");
ABSL_FLAG(std::string, precision, "fp16", "send, load: feature precision fp32 | fp16 | int8 (not used by latent)");
ABSL_FLAG(double, target_psnr, 0, "send with --payload latent: the sender picks the cheapest step level whose "
          "reconstruction reaches this PSNR (dB)");
ABSL_FLAG(int, latent_level, -1, "send, local with --payload latent: quantisation step level, 0 = finest "
          "(-1 = the sender's / codec's default; `info` lists the levels)");
ABSL_FLAG(std::string, token, "", "bearer token for the daemons (default: $MT_TOKEN)");
ABSL_FLAG(bool, tls, false, "connect over TLS");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA to trust (empty: system roots)");
ABSL_FLAG(std::string, client_cert, "", "PEM client certificate (mTLS)");
ABSL_FLAG(std::string, client_key, "", "PEM private key for --client_cert");
// The old names of --client_cert / --client_key, kept for one release: --tls_cert means the server's
// certificate on the daemons, so the client's own is named differently.
ABSL_FLAG(std::string, tls_cert, "", "deprecated: use --client_cert (same meaning)");
ABSL_FLAG(std::string, tls_key, "", "deprecated: use --client_key (same meaning)");
ABSL_FLAG(std::string, tls_name, "", "name to check in the server certificate (default: the host)");
ABSL_FLAG(double, deadline_s, 60, "per-call deadline in seconds");
ABSL_FLAG(std::string, images, "", "bench: folder of images (read recursively)");
ABSL_FLAG(bool, local, true, "bench: run the pipeline in-process (--nolocal: masker settings through --sender)");
ABSL_FLAG(std::string, csv, "", "bench: CSV output, one row per image x setting");
ABSL_FLAG(std::string, report, "", "bench: markdown summary output");
ABSL_FLAG(std::string, plot, "", "bench: PNG plot of PSNR vs bits per pixel (gnuplot)");
ABSL_FLAG(int, crop, 0, "bench: evaluate evenly spaced native CROPxCROP crops instead of whole images");
ABSL_FLAG(int, crops_per_image, 16, "bench: crops per image with --crop");
ABSL_FLAG(std::vector<std::string>, concurrency, std::vector<std::string>({"1", "4", "16", "32"}),
          "load: concurrency levels (requests kept in flight)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(20), "load: time per concurrency level, e.g. 20s");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "load: unrecorded warm-up per level");
ABSL_FLAG(int64_t, requests, 0, "load: if > 0, send exactly this many requests per level instead of --duration");
ABSL_FLAG(std::string, requests_csv, "", "load: one CSV row per request (id, status, latency, stages, stored path, hash)");
ABSL_FLAG(std::string, rss_csv, "", "load: RSS samples of the --watch processes over time");
ABSL_FLAG(std::vector<std::string>, watch, {}, "load: name=pid of processes (the daemons) whose RSS to sample");
ABSL_FLAG(std::string, id_prefix, "load", "load: request ids are <prefix>-c<concurrency>-<n>");
ABSL_FLAG(bool, quality, true,
          "send, load, bench --nolocal: ask the sender for PSNR/SSIM of the stored image (it costs the stored PNG's trip "
          "back and 0.13–0.3 s per megapixel on the sender; --noquality for the fastest reply, PSNR/SSIM then 0)");
ABSL_FLAG(bool, verify, false, "load: ask for each reconstruction and record its FNV-1a hash in --requests_csv");
ABSL_FLAG(std::vector<std::string>, payloads, {},
          "bench: payload kinds to measure, e.g. latent,pixels (default: all; the anchors and PNG always run)");
ABSL_FLAG(std::vector<std::string>, latent_keep_ratios, std::vector<std::string>({"0.25", "0.5", "0.75"}),
          "bench: keep ratios of the latent rows (masker, random, grid) besides keeping every patch");
ABSL_FLAG(std::vector<std::string>, latent_levels, {}, "bench: step levels of the latent rows (default: all)");
ABSL_FLAG(bool, latent_baselines, true, "bench: latent rows also with random and uniform-grid selections");
ABSL_FLAG(std::vector<std::string>, keep_ratios, std::vector<std::string>({"0.05", "0.1", "0.16", "0.25", "0.35", "0.5"}),
          "bench: keep ratios to sweep");

namespace {

constexpr char kUsage[] =
    "mt-client <command> [flags] [images...]\n\n"
    "commands:\n"
    "  local IMAGE...   in-process on each image's centre tile: the latent codec of --codec_checkpoint (default\n"
    "                   --payload latent [--latent_level N]: stream and estimated bytes, bpp), or with another\n"
    "                   --payload the masker -> selection -> MAE encoder -> decoder; print bytes, keep ratio,\n"
    "                   PSNR/SSIM per image; write <out>/<name>_grid.png (original | kept patches | overlay | output)\n"
    "  send IMAGE...    send through mt-sender -> mt-receiver; per image: size, tiles, kept patches,\n"
    "                   wire bytes sender->receiver, raw and file bytes, bits per pixel, PSNR/SSIM of the\n"
    "                   image the receiver stored, stage timings; --out writes <id>_recon.png + grid.png\n"
    "                   selection: --keep_ratio R | --threshold T | --max_bytes N; --payload; --precision;\n"
    "                   --payload latent [--latent_level N | --target_psnr DB] (the table adds the entropy\n"
    "                   model's estimated bytes; --target_psnr: the sender picks the cheapest level reaching it)\n"
    "  bench --images DIR [--crop 32] [--nolocal --sender host:port] --csv rd.csv --report rd.md --plot rd.png\n"
    "                   in-process rate-distortion sweep: masker vs random vs uniform grid, every payload and\n"
    "                   precision, keep ratios --keep_ratios; the anchors JPEG, WebP (13 qualities 1-90), AVIF (aom\n"
    "                   speed 6, quantizers 60-4), JPEG XL (effort 7, distances 25-0.5) and PNG on the same images;\n"
    "                   latent rows (--codec_checkpoint): every step level x keep\n"
    "                   (all patches, and masker/random/grid at --latent_keep_ratios); --payloads latent,pixels\n"
    "                   limits the MAE rows; the report has PSNR at fixed rates and the BD-rate against each anchor\n"
    "  load IMAGE|DIR... [--crop 32] --concurrency 1,4,16,32 --duration 20s [--requests N] --csv load.csv\n"
    "                   [--watch sender=PID,receiver=PID --rss_csv rss.csv] [--requests_csv r.csv --verify]\n"
    "                   closed-loop load on --sender: images/s, p50/p90/p99 latency, errors by code, server stage\n"
    "                   split (queue, masker, encoder, transmit, decoder, write), batch sizes, daemons' peak RSS\n"
    "  health           grpc.health.v1 check of --sender (or --target); exit 0 when SERVING\n"
    "  info             model and link information of --sender (or --target with --role receiver)\n";

// --sender (or --target), token (flag or $MT_TOKEN), TLS files (--client_cert / --client_key, or
// their deprecated names --tls_cert / --tls_key) and deadline; false (after saying why) when a file
// flag is given under both its names.
bool ConnectionFromFlags(mt::client::Connection* c) {
  absl::StatusOr<std::string> cert = mt::FlagOrDeprecatedAlias(FLAGS_client_cert, FLAGS_tls_cert);
  absl::StatusOr<std::string> key = mt::FlagOrDeprecatedAlias(FLAGS_client_key, FLAGS_tls_key);
  if (!cert.ok() || !key.ok()) {
    std::fprintf(stderr, "mt-client: %s\n", (!cert.ok() ? cert.status() : key.status()).ToString().c_str());
    return false;
  }
  c->target = absl::GetFlag(FLAGS_target).empty() ? absl::GetFlag(FLAGS_sender) : absl::GetFlag(FLAGS_target);
  c->token = mt::server::FlagOrEnv(absl::GetFlag(FLAGS_token), "MT_TOKEN");
  c->tls = absl::GetFlag(FLAGS_tls) || !absl::GetFlag(FLAGS_tls_ca).empty();
  c->ca = absl::GetFlag(FLAGS_tls_ca);
  c->cert = *cert;
  c->key = *key;
  c->tls_name = absl::GetFlag(FLAGS_tls_name);
  c->deadline_s = absl::GetFlag(FLAGS_deadline_s);
  return true;
}

// --payload and --precision; false (after saying why) when either is not a known name.
bool PayloadFlags(mt::PayloadKind* payload, mt::Precision* precision) {
  absl::StatusOr<mt::PayloadKind> p = mt::ParsePayloadKind(absl::GetFlag(FLAGS_payload));
  absl::StatusOr<mt::Precision> q = mt::ParsePrecision(absl::GetFlag(FLAGS_precision));
  if (!p.ok() || !q.ok()) {
    std::fprintf(stderr, "mt-client: %s\n", (!p.ok() ? p.status() : q.status()).ToString().c_str());
    return false;
  }
  *payload = *p;
  *precision = *q;
  return true;
}

// --latent_level is only for payload latent; false (after saying why) otherwise.
bool LatentLevelFlag(mt::PayloadKind payload) {
  if (absl::GetFlag(FLAGS_latent_level) >= 0 && !mt::CarriesLatents(payload)) {
    std::fprintf(stderr, "mt-client: --latent_level applies only to --payload latent\n");
    return false;
  }
  return true;
}

// --compute, with a warning when this CPU runs it slowly; false (after saying why, each line
// starting with `prefix`, e.g. "mt-client bench") for an unknown name.
bool ComputeFlag(const char* prefix, mt::ComputePrecision* compute) {
  absl::StatusOr<mt::ComputePrecision> c = mt::ParseComputePrecision(absl::GetFlag(FLAGS_compute));
  if (!c.ok()) {
    std::fprintf(stderr, "%s: --compute: %s\n", prefix, std::string(c.status().message()).c_str());
    return false;
  }
  if (const std::string w = mt::ComputePrecisionWarning(*c); !w.empty())
    std::fprintf(stderr, "%s: warning: --compute: %s\n", prefix, w.c_str());
  *compute = *c;
  return true;
}

// The local command's config from the flags; false (after saying why) for a bad flag.
bool LocalFlags(mt::client::LocalConfig* c) {
  c->mae_checkpoint = absl::GetFlag(mt::MaeCheckpointFlag());
  c->masker_checkpoint = absl::GetFlag(mt::MaskerCheckpointFlag());
  c->seed = absl::GetFlag(FLAGS_seed);
  c->keep_ratio = absl::GetFlag(FLAGS_keep_ratio);
  c->threshold = absl::GetFlag(FLAGS_threshold);
  const std::string context = absl::GetFlag(FLAGS_context);
  if (context != "visible" && context != "full") {
    std::fprintf(stderr, "mt-client: --context must be 'visible' or 'full', got '%s'\n", context.c_str());
    return false;
  }
  c->full_context = context == "full";
  if (!absl::GetFlag(FLAGS_out).empty()) c->out_dir = absl::GetFlag(FLAGS_out);
  mt::Precision unused;
  if (!PayloadFlags(&c->payload, &unused) || !LatentLevelFlag(c->payload)) return false;
  c->codec_checkpoint = absl::GetFlag(mt::CodecCheckpointFlag());
  c->latent_level = absl::GetFlag(FLAGS_latent_level);
  return ComputeFlag("mt-client", &c->compute);
}

// The bench command's config from the flags; false (after saying why) for a bad flag.
bool BenchFlags(mt::client::BenchConfig* b) {
  b->images_dir = absl::GetFlag(FLAGS_images);
  if (b->images_dir.empty()) {
    std::fprintf(stderr, "mt-client bench: --images DIR is required\n");
    return false;
  }
  if (const std::string mae = absl::GetFlag(mt::MaeCheckpointFlag()); !mae.empty()) b->mae_checkpoint = mae;
  if (const std::string masker = absl::GetFlag(mt::MaskerCheckpointFlag()); !masker.empty())
    b->masker_checkpoint = masker;
  b->crop = absl::GetFlag(FLAGS_crop);
  b->crops_per_image = absl::GetFlag(FLAGS_crops_per_image);
  b->keep_ratios.clear();
  for (const std::string& r : absl::GetFlag(FLAGS_keep_ratios)) b->keep_ratios.push_back(std::stod(r));
  b->latent_keep_ratios.clear();
  for (const std::string& r : absl::GetFlag(FLAGS_latent_keep_ratios)) b->latent_keep_ratios.push_back(std::stod(r));
  for (const std::string& l : absl::GetFlag(FLAGS_latent_levels)) b->latent_levels.push_back(std::stoll(l));
  b->latent_baselines = absl::GetFlag(FLAGS_latent_baselines);
  b->codec_checkpoint = absl::GetFlag(mt::CodecCheckpointFlag());
  if (!b->codec_checkpoint.empty() && !std::filesystem::exists(b->codec_checkpoint)) {
    std::fprintf(stderr,
                 "mt-client bench: --codec_checkpoint %s does not exist (--codec_checkpoint= to skip latent rows)\n",
                 b->codec_checkpoint.c_str());
    return false;
  }
  b->payloads = absl::GetFlag(FLAGS_payloads);
  for (const std::string& p : b->payloads)
    if (!mt::ParsePayloadKind(p).ok()) {
      std::fprintf(stderr, "mt-client bench: --payloads: unknown payload '%s'\n", p.c_str());
      return false;
    }
  b->csv = absl::GetFlag(FLAGS_csv);
  b->report = absl::GetFlag(FLAGS_report);
  b->plot = absl::GetFlag(FLAGS_plot);
  b->remote = !absl::GetFlag(FLAGS_local);
  return ComputeFlag("mt-client bench", &b->compute) && ConnectionFromFlags(&b->connection);
}

// The load command's config from the flags and the `images` (files or folders) named on the command
// line; false (after saying why) for a bad flag or no images.
bool LoadFlags(const std::vector<std::string>& images, mt::client::LoadConfig* l) {
  if (!ConnectionFromFlags(&l->connection)) return false;
  l->images = images;
  if (!absl::GetFlag(FLAGS_images).empty()) l->images.push_back(absl::GetFlag(FLAGS_images));
  if (l->images.empty()) {
    std::fprintf(stderr, "mt-client load: give image files or folders (or --images DIR)\n");
    return false;
  }
  l->crop = absl::GetFlag(FLAGS_crop);
  l->crops_per_image = absl::GetFlag(FLAGS_crops_per_image);
  l->concurrency.clear();
  for (const std::string& c : absl::GetFlag(FLAGS_concurrency)) {
    const int n = std::atoi(c.c_str());
    if (n < 1 || n > 1024) {
      std::fprintf(stderr, "mt-client load: --concurrency '%s' must be in 1..1024\n", c.c_str());
      return false;
    }
    l->concurrency.push_back(n);
  }
  l->duration_s = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration));
  l->warmup_s = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_warmup));
  l->requests = absl::GetFlag(FLAGS_requests);
  l->keep_ratio = absl::GetFlag(FLAGS_keep_ratio);
  if (!PayloadFlags(&l->payload, &l->precision)) return false;
  l->id_prefix = absl::GetFlag(FLAGS_id_prefix);
  l->verify = absl::GetFlag(FLAGS_verify);
  l->quality = absl::GetFlag(FLAGS_quality);
  l->csv = absl::GetFlag(FLAGS_csv);
  l->requests_csv = absl::GetFlag(FLAGS_requests_csv);
  l->rss_csv = absl::GetFlag(FLAGS_rss_csv);
  l->watch = absl::GetFlag(FLAGS_watch);
  return true;
}

// The send command's selection, payload and output settings from the flags (s->connection is the
// caller's); false (after saying why) for a bad or contradictory flag.
bool SendFlags(mt::client::SendConfig* s) {
  s->max_bytes = absl::GetFlag(FLAGS_max_bytes);
  s->threshold = absl::GetFlag(FLAGS_threshold);
  s->keep_ratio = absl::GetFlag(FLAGS_keep_ratio);
  if (!PayloadFlags(&s->payload, &s->precision) || !LatentLevelFlag(s->payload)) return false;
  s->latent_level = absl::GetFlag(FLAGS_latent_level);
  s->target_psnr = absl::GetFlag(FLAGS_target_psnr);
  if (s->target_psnr != 0 && (!mt::CarriesLatents(s->payload) || s->latent_level >= 0 || s->max_bytes > 0)) {
    std::fprintf(stderr,
                 "mt-client: --target_psnr needs --payload latent and neither --latent_level nor --max_bytes\n");
    return false;
  }
  s->out_dir = absl::GetFlag(FLAGS_out);
  s->quality = absl::GetFlag(FLAGS_quality);
  return true;
}

// Runs `command` on the positional arguments after it; the process exit code (2 for a bad flag or an
// unknown command).
int RunCommand(const std::string& command, const std::vector<std::string>& rest) {
  if (command == "local") {
    mt::client::LocalConfig l;
    return LocalFlags(&l) ? mt::client::RunLocal(l, rest) : 2;
  }
  if (command == "bench") {
    mt::client::BenchConfig b;
    return BenchFlags(&b) ? mt::client::RunBench(b) : 2;
  }
  if (command == "load") {
    mt::client::LoadConfig l;
    return LoadFlags(rest, &l) ? mt::client::RunLoad(l) : 2;
  }
  if (command == "send" || command == "health" || command == "info") {
    mt::client::Connection c;
    if (!ConnectionFromFlags(&c)) return 2;
    if (command == "health") return mt::client::RunHealth(c);
    if (command == "info") return mt::client::RunInfo(c, absl::GetFlag(FLAGS_role));
    mt::client::SendConfig s;
    s.connection = c;
    return SendFlags(&s) ? mt::client::RunSend(s, rest) : 2;
  }
  std::fprintf(stderr, "mt-client: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  mt::InstallCliHelp(kUsage, "client/");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) {
    std::fprintf(stderr, "%s\nrun 'mt-client --help' for flags\n", kUsage);
    return 2;
  }
  const std::string runtime = mt::ConfigureCpuRuntime({absl::GetFlag(FLAGS_threads), true});
  const std::string command = args[1];
  if (command == "local") spdlog::info("runtime: {}", runtime);
  return RunCommand(command, std::vector<std::string>(args.begin() + 2, args.end()));
}
