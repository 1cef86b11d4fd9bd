// The sender's --receiver value: a comma-separated list of receivers, each either a fixed gRPC
// target ("host:port", "ipv4:10.0.0.7:50052", "unix:/run/rx.sock") that is one receiver, or a
// DNS name ("dns:///receivers:50052", "dns:receivers:50052") that stands for every address it
// resolves to (a Kubernetes headless Service, `docker compose --scale`), re-resolved as it changes.
// Thread-safety: free functions without shared state.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mt::server {

struct ReceiverTarget {
  std::string spec;  // as written in --receiver
  bool dns = false;  // true: resolve `host` to every address; false: `spec` is one gRPC target
  std::string host;  // dns: the name to resolve (also the TLS name to check)
  std::string port;  // dns: the port every resolved address gets
};

// Splits and checks --receiver; INVALID_ARGUMENT for an empty list, an empty entry, a repeated
// entry, or a dns: entry without host or numeric port.
absl::StatusOr<std::vector<ReceiverTarget>> ParseReceiverTargets(const std::string& receivers);

// Every address `target.host` resolves to as gRPC targets ("ipv4:10.0.0.7:50052",
// "ipv6:[fd00::7]:50052"), sorted, without duplicates; UNAVAILABLE when the name does not resolve.
absl::StatusOr<std::vector<std::string>> ResolveReceiverTarget(const ReceiverTarget& target);

}  // namespace mt::server
