// DaemonMetrics: counters and histograms in the Prometheus text format, and served over HTTP.
#include "server/common/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

namespace mt::server {
namespace {

// The value of the sample line `name{labels}` in `text`, or -1 when absent.
double Sample(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

// Sends `request` to 127.0.0.1:port over a plain socket; the whole response ("" if none).
std::string HttpGet(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  if (!request.empty() && send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    close(fd);
    return "";
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// A listening socket on 127.0.0.1 (port chosen by the kernel); its port. Closing it frees the port.
int Listen(int* fd) {
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(*fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(*fd, 1) != 0) return 0;
  getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

TEST(DaemonMetricsTest, CountsRequestsByCodeAndObservesStagesInSeconds) {
  absl::StatusOr<std::shared_ptr<DaemonMetrics>> m = DaemonMetrics::Create("sender", "");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->port(), 0);
  (*m)->CountRequest(absl::StatusCode::kOk);
  (*m)->CountRequest(absl::StatusCode::kOk);
  (*m)->CountRequest(absl::StatusCode::kInvalidArgument);
  (*m)->ObserveStage("masker", 12.0);
  (*m)->ObserveStage("masker", 30.0);
  (*m)->ObserveBatch(3);
  (*m)->AddWireBytes(1000);
  (*m)->AddWireBytes(234);
  (*m)->ObservePsnr(29.5);
  (*m)->CountDelivery("ipv4:10.0.0.7:50052", absl::StatusCode::kOk);
  std::atomic<int> queued{7};
  (*m)->SetQueueProbe([&] { return static_cast<double>(queued.load()); });
  const std::string text = (*m)->Text();
  EXPECT_EQ(Sample(text, R"(mt_requests_total{role="sender",code="OK"})"), 2) << text;
  EXPECT_EQ(Sample(text, R"(mt_requests_total{role="sender",code="INVALID_ARGUMENT"})"), 1) << text;
  EXPECT_EQ(Sample(text, R"(mt_stage_duration_seconds_count{role="sender",stage="masker"})"), 2) << text;
  EXPECT_NEAR(Sample(text, R"(mt_stage_duration_seconds_sum{role="sender",stage="masker"})"), 0.042, 1e-12) << text;
  // 12 ms and 30 ms: one at or below the 25 ms bucket bound, both at or below 50 ms.
  EXPECT_EQ(Sample(text, R"(mt_stage_duration_seconds_bucket{role="sender",stage="masker",le="0.025"})"), 1) << text;
  EXPECT_EQ(Sample(text, R"(mt_stage_duration_seconds_bucket{role="sender",stage="masker",le="0.05"})"), 2) << text;
  EXPECT_EQ(Sample(text, R"(mt_batch_size_sum{role="sender"})"), 3) << text;
  EXPECT_EQ(Sample(text, R"(mt_wire_bytes_total{role="sender"})"), 1234) << text;
  EXPECT_EQ(Sample(text, R"(mt_stored_psnr_db_bucket{role="sender",le="28"})"), 0) << text;
  EXPECT_EQ(Sample(text, R"(mt_stored_psnr_db_bucket{role="sender",le="30"})"), 1) << text;
  EXPECT_EQ(Sample(text, R"(mt_deliveries_total{role="sender",code="OK",receiver="ipv4:10.0.0.7:50052"})"), 1)
      << text;
  EXPECT_EQ(Sample(text, R"(mt_queue_tiles{role="sender"})"), 7) << text;
  queued = 0;
  EXPECT_EQ(Sample((*m)->Text(), R"(mt_queue_tiles{role="sender"})"), 0);  // read at every scrape
  (*m)->SetQueueProbe(nullptr);
  EXPECT_EQ((*m)->Text().find("mt_queue_tiles"), std::string::npos);
}

TEST(DaemonMetricsTest, ServesTheTextFormatOverHttp) {
  absl::StatusOr<std::shared_ptr<DaemonMetrics>> m = DaemonMetrics::Create("receiver", "127.0.0.1:0");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_GT((*m)->port(), 0);
  (*m)->CountRequest(absl::StatusCode::kDataLoss);
  std::string response = HttpGet((*m)->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(response.find("HTTP/1.1 200 OK"), std::string::npos) << response;
  EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << response;
  EXPECT_EQ(Sample(response, R"(mt_requests_total{role="receiver",code="DATA_LOSS"})"), 1) << response;
  (*m)->CountRequest(absl::StatusCode::kDataLoss);  // the next scrape sees the counter move
  response = HttpGet((*m)->port(), "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(Sample(response, R"(mt_requests_total{role="receiver",code="DATA_LOSS"})"), 2) << response;
  EXPECT_NE(HttpGet((*m)->port(), "GET / HTTP/1.0\r\n\r\n").find("404"), std::string::npos);
  EXPECT_NE(HttpGet((*m)->port(), "POST /metrics HTTP/1.0\r\n\r\n").find("405"), std::string::npos);
  EXPECT_NE(HttpGet((*m)->port(), "nonsense\r\n\r\n").find("400"), std::string::npos);
}

// A client that connects and sends nothing (or too much) is dropped within the bound, and the
// endpoint goes on serving.
TEST(DaemonMetricsTest, ASilentOrOversizedClientDoesNotBlockTheEndpoint) {
  absl::StatusOr<std::shared_ptr<DaemonMetrics>> m = DaemonMetrics::Create("sender", "127.0.0.1:0");
  ASSERT_TRUE(m.ok()) << m.status();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(HttpGet((*m)->port(), ""), "");  // silent: closed after the 2 s request bound
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(waited, 1.5);
  EXPECT_LT(waited, 4.0);
  EXPECT_EQ(HttpGet((*m)->port(), "GET /metrics " + std::string(20000, 'x')), "");  // over 8 KiB: dropped
  EXPECT_NE(HttpGet((*m)->port(), "GET /metrics HTTP/1.0\r\n\r\n").find("200 OK"), std::string::npos);
}

TEST(DaemonMetricsTest, AnAddressThatCannotBeBoundIsUnavailable) {
  int fd = -1;
  const std::string taken = "127.0.0.1:" + std::to_string(Listen(&fd));
  absl::StatusOr<std::shared_ptr<DaemonMetrics>> m = DaemonMetrics::Create("sender", taken);
  close(fd);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kUnavailable) << m.status();
  EXPECT_NE(m.status().message().find(taken), std::string::npos) << m.status();
}

}  // namespace
}  // namespace mt::server
