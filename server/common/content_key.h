// The content key the receiver's ImageStore records for an accepted packet: "sha256:<hex>" of the
// packet's deterministic serialization without the per-delivery fields (attempt,
// want_reconstruction), so a resend of the same packet has the same key and any other content —
// other pixels under the same id and fingerprint — does not.
#pragma once

#include <string>

#include "mt/v1/transmission.pb.h"

namespace mt::server {

std::string PacketContentKey(const v1::Packet& packet);

// "sha256:<64 hex digits>" of `bytes` (OpenSSL's SHA-256).
std::string Sha256Key(const std::string& bytes);

}  // namespace mt::server
