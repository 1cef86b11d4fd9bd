// Prometheus metrics of one daemon (role "sender" or "receiver"): requests by status code,
// latency and per-stage time histograms, batch sizes, wire bytes, PSNR of stored images, the
// encoder queue and deliveries per receiver. Kept in memory always; served as the Prometheus
// text format on http://<listen>/metrics when a listen address is given (--metrics_listen).
// Built without prometheus-cpp, every method is a no-op and serving is refused.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mt::server {

class DaemonMetrics {
 public:
  // `listen` "" keeps the metrics in memory only; "host:port" (port 0: any) also serves them.
  // UNAVAILABLE when the address cannot be bound; FAILED_PRECONDITION when built without prometheus-cpp.
  static absl::StatusOr<std::shared_ptr<DaemonMetrics>> Create(const std::string& role, const std::string& listen);
  ~DaemonMetrics();
  DaemonMetrics(const DaemonMetrics&) = delete;
  DaemonMetrics& operator=(const DaemonMetrics&) = delete;

  int port() const;  // the port serving /metrics (0: not served)

  void CountRequest(absl::StatusCode code);       // mt_requests_total{code}: one finished request or packet
  void ObserveLatency(double seconds);            // mt_request_duration_seconds: a request end to end in the daemon
  void ObserveStage(absl::string_view stage, double ms);  // mt_stage_duration_seconds{stage}
  void ObserveBatch(int64_t items);               // mt_batch_size: images that shared one model forward
  void AddWireBytes(int64_t bytes);               // mt_wire_bytes_total: packet bytes sent (sender) or received
  void ObservePsnr(double db);                    // mt_stored_psnr_db: the stored image against the input (sender)
  void CountDelivery(const std::string& receiver, absl::StatusCode code);  // mt_deliveries_total{receiver,code}
  // mt_queue_tiles: `queued_tiles` is read at every scrape (tiles waiting for the encoder).
  void SetQueueProbe(std::function<double()> queued_tiles);

  std::string Text() const;  // every metric now, in the Prometheus text format

 private:
  struct Impl;
  explicit DaemonMetrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mt::server
