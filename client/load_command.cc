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
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "client/commands.h"
#include "client/connection.h"
#include "core/io/atomic_file.h"
#include "core/io/fingerprint.h"
#include "core/io/image_io.h"
#include "mt/v1/transmission.grpc.pb.h"
#include "server/common/packet_proto.h"
#include "server/common/security.h"

namespace mt::client {
namespace {

using Clock = std::chrono::steady_clock;

struct Sample {
  std::string id;
  int code = 0;
  std::string message;
  double latency_ms = 0;
  double start_s = 0;  // since the level started
  v1::StageTimings timings;
  int64_t wire_bytes = 0;
  double psnr = 0;
  std::string stored_path, hash, receiver;
};

struct Watched {
  std::string name;
  int pid = 0;
  int64_t peak_kb = 0;  // during the current level
  double cpu_start_s = 0, cores = 0;  // CPU seconds at the level's start; mean cores used in it
};

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

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
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
  std::vector<Sample> Phase(int concurrency, double seconds, int64_t budget, const std::string& prefix,
                            std::vector<Watched>* watched) {
    std::atomic<int64_t> next{0};
    std::atomic<bool> done{false};
    std::mutex mu;
    std::vector<Sample> samples;
    const auto start = Clock::now();
    const auto end = start + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
    auto worker = [&] {
      std::vector<Sample> mine;
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
        for (Watched& w : *watched) {
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

  struct RssRow {
    double t;
    int level;
    std::string name;
    int64_t kb;
  };
  const std::vector<RssRow>& rss_rows() const { return rss_rows_; }

 private:
  Sample SendOne(const std::string& id, const std::string& body, Clock::time_point level_start) {
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
    Sample s;
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

struct LevelSummary {
  int concurrency = 0;
  int64_t ok = 0, errors = 0;
  std::map<std::string, int64_t> error_codes;
  double seconds = 0, images_per_s = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
  double queue = 0, decode = 0, masker = 0, encoder = 0, transmit = 0, decoder = 0, write = 0, server_total = 0;
  double sender_batch = 0, receiver_batch = 0, wire_bytes = 0, psnr = 0;
  std::vector<int64_t> peak_rss_kb;
  std::vector<double> cores;  // mean CPU cores used by each watched process, then this client
};

LevelSummary Summarize(int concurrency, const std::vector<Sample>& samples, double seconds,
                       const std::vector<Watched>& watched) {
  LevelSummary s;
  s.concurrency = concurrency;
  s.seconds = seconds;
  std::vector<double> latencies;
  for (const Sample& x : samples) {
    if (x.code != 0) {
      ++s.errors;
      ++s.error_codes[StatusCodeName(x.code)];
      continue;
    }
    ++s.ok;
    latencies.push_back(x.latency_ms);
    const v1::StageTimings& t = x.timings;
    s.queue += t.queue_ms();
    s.decode += t.decode_image_ms();
    s.masker += t.masker_ms();
    s.encoder += t.encoder_ms();
    s.transmit += t.transmit_ms();
    s.decoder += t.decoder_ms();
    s.write += t.write_ms();
    s.server_total += t.total_ms();
    s.sender_batch += t.sender_batch();
    s.receiver_batch += t.receiver_batch();
    s.wire_bytes += static_cast<double>(x.wire_bytes);
    s.psnr += x.psnr;
  }
  if (s.ok > 0) {
    const auto n = static_cast<double>(s.ok);
    for (double* v : {&s.queue, &s.decode, &s.masker, &s.encoder, &s.transmit, &s.decoder, &s.write, &s.server_total,
                      &s.sender_batch, &s.receiver_batch, &s.wire_bytes, &s.psnr})
      *v /= n;
  }
  s.images_per_s = seconds > 0 ? static_cast<double>(s.ok) / seconds : 0;
  s.p50 = Percentile(latencies, 0.50);
  s.p90 = Percentile(latencies, 0.90);
  s.p99 = Percentile(latencies, 0.99);
  s.max = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  for (const Watched& w : watched) s.peak_rss_kb.push_back(w.peak_kb);
  for (const Watched& w : watched) s.cores.push_back(w.cores);
  return s;
}

std::string ErrorText(const LevelSummary& s) {
  std::string out;
  for (const auto& [code, n] : s.error_codes) out += (out.empty() ? "" : " ") + code + ":" + std::to_string(n);
  return out.empty() ? "-" : out;
}

}  // namespace

int RunLoad(const LoadConfig& config) {
  absl::StatusOr<std::vector<std::string>> bodies = LoadBodies(config);
  if (!bodies.ok()) {
    std::fprintf(stderr, "mt-client load: %s\n", bodies.status().ToString().c_str());
    return 2;
  }
  std::vector<Watched> watched;
  for (const std::string& w : config.watch) {
    const size_t eq = w.find('=');
    Watched x{eq == std::string::npos ? "pid" + w : w.substr(0, eq), std::atoi(w.substr(eq + 1).c_str()), 0};
    if (x.pid <= 0 || RssKb(x.pid) < 0) {
      std::fprintf(stderr, "mt-client load: --watch '%s': no such process (use name=pid)\n", w.c_str());
      return 2;
    }
    watched.push_back(x);
  }
  // The load generator shares the machine with the daemons: report its CPU (and RSS) too.
  if (!watched.empty()) watched.push_back(Watched{"client", static_cast<int>(getpid()), 0});
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
  std::vector<LevelSummary> levels;
  std::ofstream requests_csv;
  if (!config.requests_csv.empty()) {
    requests_csv.open(config.requests_csv);
    requests_csv << "concurrency,id,code,start_s,latency_ms,wire_bytes,psnr_db,queue_ms,masker_ms,encoder_ms,"
                    "transmit_ms,decoder_ms,write_ms,server_total_ms,sender_batch,receiver_batch,stored_path,png_hash,"
                    "receiver,message\n";
  }
  for (int c : config.concurrency) {
    if (config.warmup_s > 0) run.Phase(c, config.warmup_s, 0, config.id_prefix + "-warm" + std::to_string(c), &watched);
    for (Watched& w : watched) {
      w.peak_kb = 0;
      w.cpu_start_s = CpuSeconds(w.pid);
    }
    std::vector<Sample> samples =
        run.Phase(c, config.duration_s, config.requests, config.id_prefix + "-c" + std::to_string(c), &watched);
    for (Watched& w : watched) w.cores = (CpuSeconds(w.pid) - w.cpu_start_s) / std::max(1e-9, run.elapsed_s());
    levels.push_back(Summarize(c, samples, run.elapsed_s(), watched));
    const LevelSummary& s = levels.back();
    std::fprintf(stderr, "  concurrency %d: %lld ok, %lld errors, %.1f images/s, p50 %.1f ms, p99 %.1f ms\n", c,
                 static_cast<long long>(s.ok), static_cast<long long>(s.errors), s.images_per_s, s.p50, s.p99);
    if (requests_csv.is_open()) {
      std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) { return a.start_s < b.start_s; });
      for (const Sample& x : samples) {
        const v1::StageTimings& t = x.timings;
        std::string message = x.message;
        std::replace(message.begin(), message.end(), ',', ';');
        std::replace(message.begin(), message.end(), '\n', ' ');
        requests_csv << c << ',' << x.id << ',' << StatusCodeName(x.code) << ',' << x.start_s << ',' << x.latency_ms << ','
                     << x.wire_bytes << ',' << x.psnr << ',' << t.queue_ms() << ',' << t.masker_ms() << ','
                     << t.encoder_ms() << ',' << t.transmit_ms() << ',' << t.decoder_ms() << ',' << t.write_ms() << ','
                     << t.total_ms() << ',' << t.sender_batch() << ',' << t.receiver_batch() << ',' << x.stored_path
                     << ',' << x.hash << ',' << x.receiver << ',' << message << '\n';
      }
    }
  }

  // Markdown table on stdout; the same columns in --csv.
  std::string rss_header;
  for (const Watched& w : watched) rss_header += " | " + w.name + " peak RSS MiB";
  for (const Watched& w : watched) rss_header += " | " + w.name + " cores";
  std::printf("| concurrency | ok | errors | images/s | p50 ms | p90 ms | p99 ms | max ms | server ms: queue | "
              "decode | masker | encoder | transmit | decoder | write | total | batch sender/receiver%s |\n",
              rss_header.c_str());
  std::string rule = "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";
  for (size_t i = 0; i < 2 * watched.size(); ++i) rule += "---:|";
  std::printf("%s\n", rule.c_str());
  for (const LevelSummary& s : levels) {
    std::printf("| %d | %lld | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | "
                "%.1f / %.1f",
                s.concurrency, static_cast<long long>(s.ok), ErrorText(s).c_str(), s.images_per_s, s.p50, s.p90, s.p99,
                s.max, s.queue, s.decode, s.masker, s.encoder, s.transmit, s.decoder, s.write, s.server_total,
                s.sender_batch, s.receiver_batch);
    for (int64_t kb : s.peak_rss_kb) std::printf(" | %.0f", static_cast<double>(kb) / 1024.0);
    for (double cores : s.cores) std::printf(" | %.2f", cores);
    std::printf(" |\n");
  }
  if (!config.csv.empty()) {
    std::ofstream f(config.csv);
    f << "concurrency,ok,errors,error_codes,seconds,images_per_s,p50_ms,p90_ms,p99_ms,max_ms,queue_ms,decode_image_ms,"
         "masker_ms,encoder_ms,transmit_ms,decoder_ms,write_ms,server_total_ms,sender_batch,receiver_batch,"
         "wire_bytes,psnr_db";
    for (const Watched& w : watched) f << ',' << w.name << "_peak_rss_kb";
    for (const Watched& w : watched) f << ',' << w.name << "_cores";
    f << '\n';
    for (const LevelSummary& s : levels) {
      f << s.concurrency << ',' << s.ok << ',' << s.errors << ',' << ErrorText(s) << ',' << s.seconds << ','
        << s.images_per_s << ',' << s.p50 << ',' << s.p90 << ',' << s.p99 << ',' << s.max << ',' << s.queue << ','
        << s.decode << ',' << s.masker << ',' << s.encoder << ',' << s.transmit << ',' << s.decoder << ',' << s.write
        << ',' << s.server_total << ',' << s.sender_batch << ',' << s.receiver_batch << ',' << s.wire_bytes << ','
        << s.psnr;
      for (int64_t kb : s.peak_rss_kb) f << ',' << kb;
      for (double cores : s.cores) f << ',' << cores;
      f << '\n';
    }
    std::fprintf(stderr, "wrote %s\n", config.csv.c_str());
  }
  if (!config.rss_csv.empty()) {
    std::ofstream f(config.rss_csv);
    f << "t_s,concurrency,process,rss_kb\n";
    for (const auto& r : run.rss_rows()) f << r.t << ',' << r.level << ',' << r.name << ',' << r.kb << '\n';
    std::fprintf(stderr, "wrote %s\n", config.rss_csv.c_str());
  }
  int64_t errors = 0;
  for (const LevelSummary& s : levels) errors += s.errors;
  return errors == 0 ? 0 : 1;
}

}  // namespace mt::client
