// mt-client load: closed-loop load generator against mt-sender (perf_analyzer style). For each
// concurrency level, C workers each keep one Send in flight for a duration (or a request count);
// reports images/s, latency percentiles, errors by status code, the server-side stage split
// (queue, masker, encoder, transmission, decoder, write), and the daemons' (and its own) RSS and
// CPU cores used, sampled meanwhile.
#include <ATen/ATen.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "client/commands.h"
#include "client/connection.h"
#include "client/load_report.h"
#include "core/io/atomic_file.h"
#include "core/io/fingerprint.h"
#include "core/io/image_io.h"
#include "mt/v1/transmission.grpc.pb.h"
#include "server/common/packet_proto.h"
#include "server/common/security.h"

namespace mt::client {
namespace {

using Clock = std::chrono::steady_clock;

// User + system CPU seconds a process has used (/proc/PID/stat fields 14 and 15); -1 if gone.
double CpuSeconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return -1;
  const size_t close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 13; ++i) rest >> field;  // state ... cmajflt
  long long utime = 0, stime = 0;
  if (!(rest >> utime >> stime)) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// VmRSS of a process in kB (-1 when it is gone).
int64_t RssKb(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (f >> key) {
    if (key == "VmRSS:") {
      int64_t kb = -1;
      f >> kb;
      return kb;
    }
    std::getline(f, key);
  }
  return -1;
}

// Request bodies: each file's bytes, or PNG-encoded even crops of it.
absl::StatusOr<std::vector<std::string>> LoadBodies(const LoadConfig& c) {
  std::vector<std::string> files;
  for (const std::string& path : c.images) {
    if (std::filesystem::is_directory(path)) {
      std::vector<std::string> in_dir;
      for (const auto& e : std::filesystem::directory_iterator(path))
        if (e.is_regular_file()) in_dir.push_back(e.path().string());
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else {
      files.push_back(path);
    }
  }
  std::vector<std::string> bodies;
  for (const std::string& f : files) {
    absl::StatusOr<std::string> bytes = ReadFileToString(f);
    if (!bytes.ok()) return bytes.status();
    if (c.crop <= 0) {
      bodies.push_back(*std::move(bytes));
      continue;
    }
    absl::StatusOr<at::Tensor> image = DecodeImageRgb(*bytes);
    if (!image.ok()) continue;  // not an image: skipped, as bench does
    for (const at::Tensor& crop : EvenCrops(*image, c.crop, c.crops_per_image)) {
      absl::StatusOr<std::string> png = EncodePng(crop);
      if (!png.ok()) return png.status();
      bodies.push_back(*std::move(png));
    }
  }
  if (bodies.empty()) return absl::InvalidArgumentError("no images to send (give files or folders of images)");
  return bodies;
}

class LoadRun {
 public:
  LoadRun(const LoadConfig& c, std::vector<std::string> bodies, std::shared_ptr<grpc::Channel> channel)
      : c_(c), bodies_(std::move(bodies)), stub_(v1::Sender::NewStub(channel)) {}

  // C workers, each one request in flight, until `seconds` pass or `budget` requests (> 0) start.
  std::vector<LoadSample> Phase(int concurrency, double seconds, int64_t budget, const std::string& prefix,
                            std::vector<WatchedProcess>* watched) {
    std::atomic<int64_t> next{0};
    std::atomic<bool> done{false};
    std::mutex mu;
    std::vector<LoadSample> samples;
    const auto start = Clock::now();
    const auto end = start + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
    auto worker = [&] {
      std::vector<LoadSample> mine;
      for (;;) {
        const int64_t i = next.fetch_add(1);
        if ((budget > 0 && i >= budget) || (budget <= 0 && Clock::now() >= end)) break;
        mine.push_back(SendOne(prefix + "-" + std::to_string(i), bodies_[static_cast<size_t>(i) % bodies_.size()], start));
        // A refused call returns at once; pausing keeps a down daemon from turning into a busy loop.
        if (mine.back().code != 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      std::lock_guard<std::mutex> lock(mu);
      samples.insert(samples.end(), mine.begin(), mine.end());
    };
    const bool tty = isatty(fileno(stderr));
    std::thread sampler([&] {  // RSS and a progress line (on a terminal), every interval
      while (!done.load()) {
        const double t = std::chrono::duration<double>(Clock::now() - start).count();
        for (WatchedProcess& w : *watched) {
          const int64_t kb = RssKb(w.pid);
          w.peak_kb = std::max(w.peak_kb, kb);
          rss_rows_.push_back({t_offset_ + t, concurrency, w.name, kb});
        }
        if (tty)
          std::fprintf(stderr, "\r  concurrency %d: %.0f s, %lld requests started   ", concurrency, t,
                       static_cast<long long>(std::min<int64_t>(next.load(), budget > 0 ? budget : INT64_MAX)));
        const auto wake = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(c_.rss_interval_s * 1000));
        while (!done.load() && Clock::now() < wake) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (tty) std::fprintf(stderr, "\r%70s\r", "");
    });
    std::vector<std::thread> workers;
    for (int k = 0; k < concurrency; ++k) workers.emplace_back(worker);
    for (std::thread& t : workers) t.join();
    done = true;
    sampler.join();
    elapsed_s_ = std::chrono::duration<double>(Clock::now() - start).count();
    t_offset_ += elapsed_s_;
    return samples;
  }

  double elapsed_s() const { return elapsed_s_; }

  const std::vector<RssRow>& rss_rows() const { return rss_rows_; }

 private:
  LoadSample SendOne(const std::string& id, const std::string& body, Clock::time_point level_start) {
    v1::SendRequest req;
    req.set_id(id);
    req.set_image(body);
    if (c_.keep_ratio > 0) req.mutable_selection()->set_keep_ratio(c_.keep_ratio);
    req.set_payload(server::ToProto(c_.payload));
    req.set_precision(server::ToProto(c_.precision));
    req.set_return_reconstruction(c_.verify);
    req.set_measure_quality(c_.quality);
    grpc::ClientContext ctx;
    Prepare(&ctx, c_.connection);
    v1::SendReply reply;
    LoadSample s;
    s.id = id;
    const auto t0 = Clock::now();
    s.start_s = std::chrono::duration<double>(t0 - level_start).count();
    const grpc::Status status = stub_->Send(&ctx, req, &reply);
    s.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    s.code = status.error_code();
    s.message = status.error_message();
    if (status.ok()) {
      s.timings = reply.timings();
      s.wire_bytes = reply.wire_bytes();
      s.psnr = reply.psnr_db();
      s.stored_path = reply.stored_path();
      s.receiver = reply.receiver();
      if (c_.verify) s.hash = ContentHash(reply.reconstruction_png());
    }
    return s;
  }

  const LoadConfig& c_;
  std::vector<std::string> bodies_;
  std::unique_ptr<v1::Sender::Stub> stub_;
  double elapsed_s_ = 0, t_offset_ = 0;
  std::vector<RssRow> rss_rows_;
};

// --watch name=pid (or a bare pid, named pid<pid>), each a running process, then this client
// (it shares the machine with the daemons) when any is watched; false, having said why, if not.
bool ParseWatched(const std::vector<std::string>& specs, std::vector<WatchedProcess>* watched) {
  for (const std::string& w : specs) {
    const size_t eq = w.find('=');
    WatchedProcess x{eq == std::string::npos ? "pid" + w : w.substr(0, eq), std::atoi(w.substr(eq + 1).c_str()), 0};
    if (x.pid <= 0 || RssKb(x.pid) < 0) {
      std::fprintf(stderr, "mt-client load: --watch '%s': no such process (use name=pid)\n", w.c_str());
      return false;
    }
    watched->push_back(x);
  }
  if (!watched->empty()) watched->push_back(WatchedProcess{"client", static_cast<int>(getpid()), 0});
  return true;
}

// Each concurrency level in turn: a warm-up (not recorded), then the measured phase; its line on
// stderr and its requests in --requests_csv.
std::vector<LevelSummary> RunLevels(const LoadConfig& config, LoadRun& run, std::vector<WatchedProcess>& watched) {
  std::vector<LevelSummary> levels;
  RequestsCsv requests_csv(config.requests_csv);
  for (int c : config.concurrency) {
    if (config.warmup_s > 0) run.Phase(c, config.warmup_s, 0, config.id_prefix + "-warm" + std::to_string(c), &watched);
    for (WatchedProcess& w : watched) {
      w.peak_kb = 0;
      w.cpu_start_s = CpuSeconds(w.pid);
    }
    std::vector<LoadSample> samples =
        run.Phase(c, config.duration_s, config.requests, config.id_prefix + "-c" + std::to_string(c), &watched);
    for (WatchedProcess& w : watched) w.cores = (CpuSeconds(w.pid) - w.cpu_start_s) / std::max(1e-9, run.elapsed_s());
    levels.push_back(Summarize(c, samples, run.elapsed_s(), watched));
    const LevelSummary& s = levels.back();
    std::fprintf(stderr, "  concurrency %d: %lld ok, %lld errors, %.1f images/s, p50 %.1f ms, p99 %.1f ms\n", c,
                 static_cast<long long>(s.ok), static_cast<long long>(s.errors), s.images_per_s, s.p50, s.p99);
    requests_csv.Append(c, std::move(samples));
  }
  return levels;
}

}  // namespace

int RunLoad(const LoadConfig& config) {
  absl::StatusOr<std::vector<std::string>> bodies = LoadBodies(config);
  if (!bodies.ok()) {
    std::fprintf(stderr, "mt-client load: %s\n", bodies.status().ToString().c_str());
    return 2;
  }
  std::vector<WatchedProcess> watched;
  if (!ParseWatched(config.watch, &watched)) return 2;
  std::string error;
  std::shared_ptr<grpc::Channel> channel = Connect(config.connection, &error);
  if (!channel) {
    std::fprintf(stderr, "mt-client: %s\n", error.c_str());
    return 2;
  }
  std::fprintf(stderr, "load: %zu distinct images, concurrency", bodies->size());
  for (int c : config.concurrency) std::fprintf(stderr, " %d", c);
  if (config.requests > 0) std::fprintf(stderr, ", %lld requests per level\n", static_cast<long long>(config.requests));
  else std::fprintf(stderr, ", %.0f s per level after %.0f s warm-up\n", config.duration_s, config.warmup_s);

  LoadRun run(config, *std::move(bodies), channel);
  const std::vector<LevelSummary> levels = RunLevels(config, run, watched);
  // Markdown table on stdout; the same columns in --csv.
  PrintLevelTable(levels, watched);
  if (!config.csv.empty()) WriteLevelCsv(config.csv, levels, watched);
  if (!config.rss_csv.empty()) WriteRssCsv(config.rss_csv, run.rss_rows());
  int64_t errors = 0;
  for (const LevelSummary& s : levels) errors += s.errors;
  return errors == 0 ? 0 : 1;
}

}  // namespace mt::client
