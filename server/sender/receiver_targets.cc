#include "server/sender/receiver_targets.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mt::server {
namespace {

// "dns:///host:port", "dns://authority/host:port" or "dns:host:port" → host, port.
absl::StatusOr<ReceiverTarget> ParseDns(const std::string& spec) {
  std::string rest = spec.substr(4);
  if (absl::StartsWith(rest, "//")) {
    const size_t slash = rest.find('/', 2);  // skip the (unused) DNS server authority
    if (slash == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("--receiver '", spec, "': no name"));
    rest = rest.substr(slash + 1);
  }
  std::string host, port;
  if (absl::StartsWith(rest, "[")) {  // [v6]:port
    const size_t close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return absl::InvalidArgumentError(absl::StrCat("--receiver '", spec, "': expected [address]:port"));
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos)
      return absl::InvalidArgumentError(absl::StrCat("--receiver '", spec, "': the name needs a port (name:50052)"));
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  int port_number = 0;
  if (host.empty() || !absl::SimpleAtoi(port, &port_number) || port_number <= 0 || port_number > 65535)
    return absl::InvalidArgumentError(
        absl::StrCat("--receiver '", spec, "': expected dns:///name:port with a port in 1..65535"));
  return ReceiverTarget{spec, true, host, port};
}

}  // namespace

absl::StatusOr<std::vector<ReceiverTarget>> ParseReceiverTargets(const std::string& receivers) {
  std::vector<ReceiverTarget> out;
  std::set<std::string> seen;
  for (absl::string_view piece : absl::StrSplit(receivers, ',')) {
    const std::string spec(absl::StripAsciiWhitespace(piece));
    if (spec.empty())
      return absl::InvalidArgumentError(absl::StrCat("--receiver '", receivers, "': empty entry in the list"));
    if (!seen.insert(spec).second)
      return absl::InvalidArgumentError(absl::StrCat("--receiver: '", spec, "' is listed twice"));
    if (absl::StartsWith(spec, "dns:")) {
      absl::StatusOr<ReceiverTarget> t = ParseDns(spec);
      if (!t.ok()) return t.status();
      out.push_back(*std::move(t));
    } else {
      out.push_back(ReceiverTarget{spec, false, "", ""});
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ResolveReceiverTarget(const ReceiverTarget& target) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &found); rc != 0)
    return absl::UnavailableError(absl::StrCat("cannot resolve '", target.host, "': ", gai_strerror(rc)));
  std::set<std::string> addresses;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr, text, sizeof text);
      addresses.insert(absl::StrCat("ipv4:", text, ":", target.port));
    } else if (a->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr, text, sizeof text);
      addresses.insert(absl::StrCat("ipv6:[", text, "]:", target.port));
    }
  }
  freeaddrinfo(found);
  if (addresses.empty())
    return absl::UnavailableError(absl::StrCat("'", target.host, "' resolves to no IPv4/IPv6 address"));
  return std::vector<std::string>(addresses.begin(), addresses.end());
}

}  // namespace mt::server
