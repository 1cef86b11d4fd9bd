#include "client/load_report.h"

#include <algorithm>
#include <cstdio>

#include "client/connection.h"

namespace mt::client {
namespace {

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

std::string ErrorText(const LevelSummary& s) {
  std::string out;
  for (const auto& [code, n] : s.error_codes) out += (out.empty() ? "" : " ") + code + ":" + std::to_string(n);
  return out.empty() ? "-" : out;
}

// Sums a successful request's server-side stages into `s` (Summarize divides by the count).
void AddStages(const LoadSample& x, LevelSummary& s) {
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

}  // namespace

LevelSummary Summarize(int concurrency, const std::vector<LoadSample>& samples, double seconds,
                       const std::vector<WatchedProcess>& watched) {
  LevelSummary s;
  s.concurrency = concurrency;
  s.seconds = seconds;
  std::vector<double> latencies;
  for (const LoadSample& x : samples) {
    if (x.code != 0) {
      ++s.errors;
      ++s.error_codes[StatusCodeName(x.code)];
      continue;
    }
    ++s.ok;
    latencies.push_back(x.latency_ms);
    AddStages(x, s);
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
  for (const WatchedProcess& w : watched) s.peak_rss_kb.push_back(w.peak_kb);
  for (const WatchedProcess& w : watched) s.cores.push_back(w.cores);
  return s;
}

RequestsCsv::RequestsCsv(const std::string& path) {
  if (path.empty()) return;
  f_.open(path);
  f_ << "concurrency,id,code,start_s,latency_ms,wire_bytes,psnr_db,queue_ms,masker_ms,encoder_ms,"
        "transmit_ms,decoder_ms,write_ms,server_total_ms,sender_batch,receiver_batch,stored_path,png_hash,"
        "receiver,message\n";
}

void RequestsCsv::Append(int c, std::vector<LoadSample> samples) {
  if (!f_.is_open()) return;
  std::sort(samples.begin(), samples.end(),
            [](const LoadSample& a, const LoadSample& b) { return a.start_s < b.start_s; });
  for (const LoadSample& x : samples) {
    const v1::StageTimings& t = x.timings;
    std::string message = x.message;  // one CSV field on one line
    std::replace(message.begin(), message.end(), ',', ';');
    std::replace(message.begin(), message.end(), '\n', ' ');
    f_ << c << ',' << x.id << ',' << StatusCodeName(x.code) << ',' << x.start_s << ',' << x.latency_ms << ','
       << x.wire_bytes << ',' << x.psnr << ',' << t.queue_ms() << ',' << t.masker_ms() << ',' << t.encoder_ms() << ','
       << t.transmit_ms() << ',' << t.decoder_ms() << ',' << t.write_ms() << ',' << t.total_ms() << ','
       << t.sender_batch() << ',' << t.receiver_batch() << ',' << x.stored_path << ',' << x.hash << ',' << x.receiver
       << ',' << message << '\n';
  }
}

void PrintLevelTable(const std::vector<LevelSummary>& levels, const std::vector<WatchedProcess>& watched) {
  std::string rss_header;
  for (const WatchedProcess& w : watched) rss_header += " | " + w.name + " peak RSS MiB";
  for (const WatchedProcess& w : watched) rss_header += " | " + w.name + " cores";
  std::printf("| concurrency | ok | errors | images/s | p50 ms | p90 ms | p99 ms | max ms | server ms: queue | "
              "decode | masker | encoder | transmit | decoder | write | total | batch sender/receiver%s |\n",
              rss_header.c_str());
  std::string rule = "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";
  for (size_t i = 0; i < 2 * watched.size(); ++i) rule += "---:|";
  std::printf("%s\n", rule.c_str());
  for (const LevelSummary& s : levels) {
    std::printf("| %d | %lld | %s | %.1f | %.1f | %.1f | %.1f | %.1f | "
                "%.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f / %.1f",
                s.concurrency, static_cast<long long>(s.ok), ErrorText(s).c_str(), s.images_per_s, s.p50, s.p90, s.p99,
                s.max, s.queue, s.decode, s.masker, s.encoder, s.transmit, s.decoder, s.write, s.server_total,
                s.sender_batch, s.receiver_batch);
    for (int64_t kb : s.peak_rss_kb) std::printf(" | %.0f", static_cast<double>(kb) / 1024.0);
    for (double cores : s.cores) std::printf(" | %.2f", cores);
    std::printf(" |\n");
  }
}

void WriteLevelCsv(const std::string& path, const std::vector<LevelSummary>& levels,
                   const std::vector<WatchedProcess>& watched) {
  std::ofstream f(path);
  f << "concurrency,ok,errors,error_codes,seconds,images_per_s,p50_ms,p90_ms,p99_ms,max_ms,queue_ms,decode_image_ms,"
       "masker_ms,encoder_ms,transmit_ms,decoder_ms,write_ms,server_total_ms,sender_batch,receiver_batch,"
       "wire_bytes,psnr_db";
  for (const WatchedProcess& w : watched) f << ',' << w.name << "_peak_rss_kb";
  for (const WatchedProcess& w : watched) f << ',' << w.name << "_cores";
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
  std::fprintf(stderr, "wrote %s\n", path.c_str());
}

void WriteRssCsv(const std::string& path, const std::vector<RssRow>& rows) {
  std::ofstream f(path);
  f << "t_s,concurrency,process,rss_kb\n";
  for (const RssRow& r : rows) f << r.t << ',' << r.level << ',' << r.name << ',' << r.kb << '\n';
  std::fprintf(stderr, "wrote %s\n", path.c_str());
}

}  // namespace mt::client
