// TLS credentials and the optional shared bearer token, for both daemons and the client.
// Thread-safety: TokenCheck is immutable after construction and safe to share.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_context.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace mt::server {

struct TlsFiles {
  std::string cert;              // PEM certificate chain; empty = plaintext
  std::string key;               // PEM private key
  std::string client_ca;         // server: verify client certificates against this CA (mTLS)
  // With client_ca: refuse peers without a valid certificate (false: only verify one if presented).
  // Default true, so a CA alone never admits certificate-less clients.
  bool require_client_cert = true;
};

// Plaintext when files.cert is empty. NOT_FOUND / INVALID_ARGUMENT name the unreadable file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const TlsFiles& files);

struct ChannelSecurity {
  bool tls = false;          // use TLS
  std::string ca;            // PEM root to trust (empty: system roots)
  std::string cert, key;     // client certificate for mTLS (optional)
  std::string target_name;   // override the name checked against the server certificate
};
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const ChannelSecurity& s);

// "authorization: Bearer <token>" on every call when a token is configured.
class TokenCheck {
 public:
  explicit TokenCheck(std::string token) : token_(std::move(token)) {}
  // OK when no token is configured or the call carries it; UNAUTHENTICATED otherwise.
  // Compares in constant time.
  grpc::Status Check(const grpc::ServerContext& context) const;
  bool enabled() const { return !token_.empty(); }

 private:
  std::string token_;
};

// Adds the bearer token to an outgoing call (no-op for an empty token).
void AttachToken(grpc::ClientContext* context, const std::string& token);


}  // namespace mt::server
