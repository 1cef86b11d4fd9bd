// A minimal HTTP/1.x endpoint for Prometheus scrapes: GET /metrics answers 200 with the text that
// `body` returns; any other path 404, any other method 405. One connection at a time, each bounded
// (8 KiB of request, 2 s to send it), so a slow or hostile client costs at most that.
// Why not prometheus-cpp's Exposer: its civetweb creates threads with a fixed small stack, which
// fails in any process that loads Debian's LibTorch (its static TLS needs more): "Cannot create
// first worker thread".
// Thread-safety: the serving thread calls `body` (which must be thread-safe); the destructor stops it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace mt::server {

class MetricsHttpServer {
 public:
  // Listens on `listen` ("host:port", "[v6]:port" or ":port"; port 0: any). INVALID_ARGUMENT
  // for a malformed address, UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& listen,
                                                                  std::function<std::string()> body);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }  // the bound port

 private:
  MetricsHttpServer(int fd, int port, std::function<std::string()> body);
  void Serve();
  void Answer(int client);

  const int fd_;
  const int port_;
  const std::function<std::string()> body_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace mt::server
