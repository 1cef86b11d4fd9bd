// mt-client subcommands. Flags live in main.cc and fill these configs.
#pragma once

#include <string>
#include <vector>

#include "core/codec/feature_codec.h"
#include "core/codec/packet.h"

namespace mt::client {

struct Connection {
  std::string target = "localhost:50051";  // host:port
  std::string token;                       // bearer token (empty: none)
  bool tls = false;
  std::string ca, cert, key;               // PEM files (ca: trust root; cert/key: mTLS)
  std::string tls_name;                    // name to check in the server certificate
  double deadline_s = 60;                  // per call
};

struct SendConfig {
  Connection connection;
  double keep_ratio = -1;   // one of keep_ratio / threshold / max_bytes (all unset: sender default)
  double threshold = -1;
  long long max_bytes = -1;
  PayloadKind payload = PayloadKind::kFeatures;
  Precision precision = Precision::kFp16;
  std::string out_dir;      // reconstructions + visualisation grid (empty: none)
};

// Sends each image file; prints one table row per image. Exit code 0 when all succeeded.
int RunSend(const SendConfig& config, const std::vector<std::string>& images);
// grpc.health.v1 Check of the whole server; 0 when SERVING.
int RunHealth(const Connection& connection);
// Prints the sender's (or receiver's, with --role receiver) model and link information.
int RunInfo(const Connection& connection, const std::string& role);

}  // namespace mt::client
