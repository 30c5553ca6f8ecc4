// Webhook target URLs and the address policy that keeps webhooks off internal networks
// (SSRF). Parsing uses Boost.URL; the policy is a pure function of an IP address so it is
// applied both to literal hosts at endpoint creation and to every resolved address at
// connect time (DNS rebinding).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include <boost/asio/ip/address.hpp>

namespace dispatcher::delivery {

struct target {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 0;
  std::string path_and_query;  // "/" when empty
  /// scheme://host:port, the connection pool key.
  std::string origin() const;
};

/// http:// or https:// with a host; rejects userinfo and fragments. The string is a
/// sentence fit for an API error ("url must use http or https").
std::variant<target, std::string> parse_target(std::string_view url);

/// False for loopback, private (RFC 1918, fc00::/7), link-local, multicast, unspecified,
/// carrier-grade NAT, IPv4-mapped and NAT64 (64:ff9b::/96) forms of those, the tunnelling
/// prefixes 6to4 and Teredo, local-use NAT64, and other non-global ranges.
bool is_public_address(const boost::asio::ip::address& address);

/// When host is an IP literal, whether it is public; nullopt for DNS names.
std::optional<bool> literal_host_is_public(std::string_view host);

}  // namespace dispatcher::delivery
