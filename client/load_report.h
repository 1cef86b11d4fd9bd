// What mt-client load reports: each request as the client saw it, one summary per concurrency
// level (throughput, latency percentiles, errors by code, the server-side stage split, the
// watched processes' peak RSS and CPU cores), and the outputs made of them: the markdown table
// on stdout, --csv (the same columns), --requests_csv (one row per request) and --rss_csv (every
// RSS sample). Thread-safety: plain values and functions; a RequestsCsv is used by one thread.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "mt/v1/transmission.pb.h"

namespace mt::client {

// One request of a level.
struct LoadSample {
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

// A process whose RSS and CPU are sampled during each level (--watch, and then the client itself).
struct WatchedProcess {
  std::string name;
  int pid = 0;
  int64_t peak_kb = 0;  // during the current level
  double cpu_start_s = 0, cores = 0;  // CPU seconds at the level's start; mean cores used in it
};

// One RSS sample of a watched process.
struct RssRow {
  double t;   // seconds of load so far: earlier phases (warm-ups included) and this one's
  int level;  // the phase's concurrency
  std::string name;
  int64_t kb;
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

// A level's samples, measured over `seconds`: latency percentiles and stage means over the
// successful requests, errors counted by code, and the watched processes' peak RSS and cores.
LevelSummary Summarize(int concurrency, const std::vector<LoadSample>& samples, double seconds,
                       const std::vector<WatchedProcess>& watched);

// --requests_csv: its header on construction (an empty path: no file, Append does nothing),
// then each level's requests by start time.
class RequestsCsv {
 public:
  explicit RequestsCsv(const std::string& path);
  void Append(int concurrency, std::vector<LoadSample> samples);

 private:
  std::ofstream f_;
};

// The markdown table on stdout, one row per level.
void PrintLevelTable(const std::vector<LevelSummary>& levels, const std::vector<WatchedProcess>& watched);
// The table's columns as CSV at `path`; says so on stderr.
void WriteLevelCsv(const std::string& path, const std::vector<LevelSummary>& levels,
                   const std::vector<WatchedProcess>& watched);
// Every RSS sample as CSV at `path`; says so on stderr.
void WriteRssCsv(const std::string& path, const std::vector<RssRow>& rows);

}  // namespace mt::client
