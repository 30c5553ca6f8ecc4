// Webhook target URLs and the address policy that keeps webhooks off internal networks
// (SSRF). Routing applies both when an endpoint is created and delivery again at connect
// time, so they live here, below both, rather than in either. Parsing uses Boost.URL; the policy is
// a pure function of an IP address's bytes (no Asio here, so routing and the unit tests can use it)
// and is applied both to literal hosts at endpoint creation and to every resolved address at
// connect time (DNS rebinding).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

namespace dispatcher {

struct target {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 0;
  std::string path_and_query;  // "/" when empty
  /// scheme://host:port, the connection pool key. Set by parse_target, once per URL rather
  /// than once per attempt.
  std::string origin;
};

/// http:// or https:// with a host; rejects userinfo and fragments. The string is a
/// sentence fit for an API error ("url must use http or https").
std::variant<target, std::string> parse_target(std::string_view url);

/// False for loopback, private (RFC 1918), link-local, multicast, unspecified,
/// carrier-grade NAT and other non-global IPv4 ranges. `address` in host byte order
/// (a.b.c.d is a << 24 | b << 16 | c << 8 | d).
bool is_public_ipv4(std::uint32_t address);

/// False for the IPv6 counterparts (loopback, unique-local fc00::/7, link-local,
/// multicast, unspecified), IPv4-mapped and NAT64 (64:ff9b::/96) forms of non-public IPv4
/// addresses, the tunnelling prefixes 6to4 and Teredo, local-use NAT64, and other
/// non-global ranges. `bytes` in network order, as inet_pton and Asio's to_bytes() give them.
bool is_public_ipv6(const std::array<std::uint8_t, 16>& bytes);

/// When host is an IP literal, whether it is public; nullopt for DNS names.
std::optional<bool> literal_host_is_public(std::string_view host);

}  // namespace dispatcher
