#include "server/common/metrics.h"

#include <mutex>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/common/metrics_http.h"

#ifdef MT_HAVE_PROMETHEUS
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#endif

namespace mt::server {

#ifdef MT_HAVE_PROMETHEUS
namespace {

using prometheus::Histogram;

// The queue gauge, read when scraped rather than updated on every submit.
class QueueCollectable final : public prometheus::Collectable {
 public:
  explicit QueueCollectable(std::string role) : role_(std::move(role)) {}
  void Set(std::function<double()> probe) {
    std::lock_guard<std::mutex> lock(mu_);
    probe_ = std::move(probe);
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!probe_) return {};
    prometheus::MetricFamily f{"mt_queue_tiles", "tiles waiting for the model", prometheus::MetricType::Gauge, {}};
    prometheus::ClientMetric m;
    m.label.push_back({"role", role_});
    m.gauge.value = probe_();
    f.metric.push_back(std::move(m));
    return {std::move(f)};
  }

 private:
  const std::string role_;
  mutable std::mutex mu_;
  std::function<double()> probe_;
};

}  // namespace

struct DaemonMetrics::Impl {
  explicit Impl(const std::string& role)
      : registry(std::make_shared<prometheus::Registry>()),
        queue(std::make_shared<QueueCollectable>(role)),
        requests(prometheus::BuildCounter().Name("mt_requests_total").Help("finished requests (sender) or packets "
                 "(receiver) by gRPC status code").Labels({{"role", role}}).Register(*registry)),
        latency(prometheus::BuildHistogram().Name("mt_request_duration_seconds").Help("time in the daemon per request")
                    .Labels({{"role", role}}).Register(*registry).Add({}, Histogram::BucketBoundaries{
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120})),
        stages(prometheus::BuildHistogram().Name("mt_stage_duration_seconds").Help("time per pipeline stage")
                   .Labels({{"role", role}}).Register(*registry)),
        batch(prometheus::BuildHistogram().Name("mt_batch_size").Help("images that shared one model forward")
                  .Labels({{"role", role}}).Register(*registry).Add({}, Histogram::BucketBoundaries{
                      1, 2, 4, 8, 16, 32, 64})),
        wire(prometheus::BuildCounter().Name("mt_wire_bytes_total").Help("serialized packet bytes sent (sender) or "
             "received (receiver)").Labels({{"role", role}}).Register(*registry).Add({})),
        psnr(prometheus::BuildHistogram().Name("mt_stored_psnr_db").Help("PSNR of each stored image against the "
             "decoded input").Labels({{"role", role}}).Register(*registry).Add({}, Histogram::BucketBoundaries{
                 15, 20, 22, 24, 26, 28, 30, 32, 35, 40, 50})),
        deliveries(prometheus::BuildCounter().Name("mt_deliveries_total").Help("packets delivered per receiver by "
                   "status code").Labels({{"role", role}}).Register(*registry)) {}

  std::shared_ptr<prometheus::Registry> registry;
  std::shared_ptr<QueueCollectable> queue;
  prometheus::Family<prometheus::Counter>& requests;
  Histogram& latency;
  prometheus::Family<Histogram>& stages;
  Histogram& batch;
  prometheus::Counter& wire;
  Histogram& psnr;
  prometheus::Family<prometheus::Counter>& deliveries;
  std::unique_ptr<MetricsHttpServer> http;  // null: not served (declared last: stops first)
};

absl::StatusOr<std::shared_ptr<DaemonMetrics>> DaemonMetrics::Create(const std::string& role,
                                                                     const std::string& listen) {
  std::shared_ptr<DaemonMetrics> metrics(new DaemonMetrics(std::make_unique<Impl>(role)));
  if (!listen.empty()) {
    // The server thread holds a plain pointer: it is stopped (Impl's last member) before the rest goes.
    const DaemonMetrics* self = metrics.get();
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> http =
        MetricsHttpServer::Start(listen, [self] { return self->Text(); });
    if (!http.ok())
      return absl::Status(http.status().code(), absl::StrCat("--metrics_listen: ", http.status().message()));
    metrics->impl_->http = *std::move(http);
  }
  return metrics;
}

int DaemonMetrics::port() const { return impl_->http ? impl_->http->port() : 0; }

void DaemonMetrics::CountRequest(absl::StatusCode code) {
  impl_->requests.Add({{"code", absl::StatusCodeToString(code)}}).Increment();
}
void DaemonMetrics::ObserveLatency(double seconds) { impl_->latency.Observe(seconds); }
void DaemonMetrics::ObserveStage(absl::string_view stage, double ms) {
  static const Histogram::BucketBoundaries kBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                    0.25,  0.5,    1,     2.5,  5,     10,   30};
  impl_->stages.Add({{"stage", std::string(stage)}}, kBuckets).Observe(ms / 1000.0);
}
void DaemonMetrics::ObserveBatch(int64_t items) { impl_->batch.Observe(static_cast<double>(items)); }
void DaemonMetrics::AddWireBytes(int64_t bytes) { impl_->wire.Increment(static_cast<double>(bytes)); }
void DaemonMetrics::ObservePsnr(double db) { impl_->psnr.Observe(db); }
void DaemonMetrics::CountDelivery(const std::string& receiver, absl::StatusCode code) {
  impl_->deliveries.Add({{"receiver", receiver}, {"code", absl::StatusCodeToString(code)}}).Increment();
}
void DaemonMetrics::SetQueueProbe(std::function<double()> queued_tiles) { impl_->queue->Set(std::move(queued_tiles)); }

std::string DaemonMetrics::Text() const {
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  for (prometheus::MetricFamily& f : impl_->queue->Collect()) families.push_back(std::move(f));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

#else  // built without prometheus-cpp

struct DaemonMetrics::Impl {};

absl::StatusOr<std::shared_ptr<DaemonMetrics>> DaemonMetrics::Create(const std::string&, const std::string& listen) {
  if (!listen.empty())
    return absl::FailedPreconditionError("--metrics_listen: this build has no prometheus-cpp (Debian: prometheus-cpp-dev)");
  return std::shared_ptr<DaemonMetrics>(new DaemonMetrics(std::make_unique<Impl>()));
}
int DaemonMetrics::port() const { return 0; }
void DaemonMetrics::CountRequest(absl::StatusCode) {}
void DaemonMetrics::ObserveLatency(double) {}
void DaemonMetrics::ObserveStage(absl::string_view, double) {}
void DaemonMetrics::ObserveBatch(int64_t) {}
void DaemonMetrics::AddWireBytes(int64_t) {}
void DaemonMetrics::ObservePsnr(double) {}
void DaemonMetrics::CountDelivery(const std::string&, absl::StatusCode) {}
void DaemonMetrics::SetQueueProbe(std::function<double()>) {}
std::string DaemonMetrics::Text() const { return ""; }

#endif

DaemonMetrics::DaemonMetrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DaemonMetrics::~DaemonMetrics() = default;

}  // namespace mt::server
