#include "server/common/security.h"

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "core/io/atomic_file.h"

namespace mt::server {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const TlsFiles& f) {
  if (f.cert.empty()) {
    if (!f.key.empty() || !f.client_ca.empty())
      return absl::InvalidArgumentError("--tls_key/--tls_client_ca need --tls_cert");
    return grpc::InsecureServerCredentials();
  }
  if (f.key.empty()) return absl::InvalidArgumentError("--tls_cert needs --tls_key");
  absl::StatusOr<std::string> cert = ReadFileToString(f.cert), key = ReadFileToString(f.key);
  if (!cert.ok()) return cert.status();
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options(
      f.client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
      : f.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                              : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!f.client_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadFileToString(f.client_ca);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
  }
  options.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const ChannelSecurity& s) {
  if (!s.tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  if (!s.ca.empty()) {
    absl::StatusOr<std::string> ca = ReadFileToString(s.ca);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
  }
  if (!s.cert.empty()) {
    absl::StatusOr<std::string> cert = ReadFileToString(s.cert), key = ReadFileToString(s.key);
    if (!cert.ok()) return cert.status();
    if (!key.ok()) return key.status();
    options.pem_cert_chain = *cert;
    options.pem_private_key = *key;
  }
  return grpc::SslCredentials(options);
}

grpc::Status TokenCheck::Check(const grpc::ServerContext& context) const {
  if (token_.empty()) return grpc::Status::OK;
  const auto& md = context.client_metadata();
  auto it = md.find("authorization");
  const std::string expected = "Bearer " + token_;
  if (it == md.end()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing 'authorization: Bearer' token");
  const grpc::string_ref got = it->second;
  // Constant time over the expected length: the comparison does not stop at the first mismatch.
  unsigned char diff = got.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i] ^ (i < got.size() ? got.data()[i] : 0));
  if (diff != 0) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong bearer token");
  return grpc::Status::OK;
}

void AttachToken(grpc::ClientContext* context, const std::string& token) {
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
}

}  // namespace mt::server
