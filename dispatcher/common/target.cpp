// Target URL parsing and the SSRF address policy. The ranges below follow the IANA
// special-purpose address registries: anything not globally reachable is refused, because a
// webhook URL is user input and must not become a way to reach the dispatcher's own network.
#include "dispatcher/common/target.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "dispatcher/common/ascii.hpp"

namespace dispatcher {

namespace {

struct v4_range {
  std::uint32_t network;
  int prefix;
};

constexpr std::uint32_t v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return (std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d;
}

// Not globally reachable (RFC 6890 and the IANA IPv4 special-purpose registry).
constexpr std::array<v4_range, 16> non_public_v4{{
    {v4(0, 0, 0, 0), 8},           // "this network", includes 0.0.0.0
    {v4(10, 0, 0, 0), 8},          // RFC 1918
    {v4(100, 64, 0, 0), 10},       // carrier-grade NAT
    {v4(127, 0, 0, 0), 8},         // loopback
    {v4(169, 254, 0, 0), 16},      // link-local, includes cloud metadata 169.254.169.254
    {v4(172, 16, 0, 0), 12},       // RFC 1918
    {v4(192, 0, 0, 0), 24},        // IETF protocol assignments
    {v4(192, 0, 2, 0), 24},        // documentation (TEST-NET-1)
    {v4(192, 168, 0, 0), 16},      // RFC 1918
    {v4(198, 18, 0, 0), 15},       // benchmarking
    {v4(198, 51, 100, 0), 24},     // documentation (TEST-NET-2)
    {v4(203, 0, 113, 0), 24},      // documentation (TEST-NET-3)
    {v4(224, 0, 0, 0), 4},         // multicast
    {v4(240, 0, 0, 0), 4},         // reserved
    {v4(255, 255, 255, 255), 32},  // limited broadcast (inside 240/4, listed for clarity)
    {v4(192, 88, 99, 0), 24},      // deprecated 6to4 relay anycast
}};

}  // namespace

bool is_public_ipv4(std::uint32_t address) {
  return std::none_of(non_public_v4.begin(), non_public_v4.end(), [&](const v4_range& r) {
    const std::uint32_t mask = r.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - r.prefix);
    return (address & mask) == r.network;
  });
}

namespace {

struct v6_range {
  std::array<std::uint8_t, 4> network;  // the leading bytes; no range below is longer than /32
  int prefix;
};

// Inside 2000::/3, the global unicast space: not globally reachable (IANA IPv6
// special-purpose registry), and the tunnelling prefixes, whose relays forward the packet to
// whichever IPv4 host the address embeds, private ones included.
constexpr std::array<v6_range, 4> non_public_global_v6{{
    {{0x20, 0x01, 0x00, 0x00}, 23},  // 2001::/23 IETF protocol assignments, Teredo 2001::/32
    {{0x20, 0x01, 0x0d, 0xb8}, 32},  // 2001:db8::/32 documentation
    {{0x20, 0x02, 0x00, 0x00}, 16},  // 2002::/16 6to4, deprecated (RFC 7526)
    {{0x3f, 0xff, 0x00, 0x00}, 20},  // 3fff::/20 documentation (RFC 9637)
}};

bool in_range(const std::array<std::uint8_t, 16>& bytes, const v6_range& r) {
  int bits = r.prefix;
  for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
    const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xff : 0xff << (8 - bits));
    if ((bytes[i] & mask) != r.network[i]) return false;
  }
  return true;
}

}  // namespace

bool is_public_ipv6(const std::array<std::uint8_t, 16>& bytes) {
  // IPv4-mapped (::ffff:a.b.c.d) reaches the IPv4 address on dual-stack sockets, and the
  // NAT64 well-known prefix (64:ff9b::/96) is translated to it: judge the IPv4 form.
  static constexpr std::array<std::uint8_t, 12> v4_mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr std::array<std::uint8_t, 12> nat64{0x00, 0x64, 0xff, 0x9b, 0, 0,
                                                      0,    0,    0,    0,    0, 0};
  if (std::equal(v4_mapped.begin(), v4_mapped.end(), bytes.begin()) ||
      std::equal(nat64.begin(), nat64.end(), bytes.begin())) {
    return is_public_ipv4(v4(bytes[12], bytes[13], bytes[14], bytes[15]));
  }
  // Outside 2000::/3 nothing is global unicast: that is where ::, ::1, the IPv4-compatible
  // ::/96, local-use NAT64 64:ff9b:1::/48, discard-only 100::/64, SRv6 5f00::/16,
  // unique-local fc00::/7, link-local fe80::/10, site-local fec0::/10 and multicast live.
  if ((bytes[0] & 0xe0) != 0x20) return false;
  return std::none_of(non_public_global_v6.begin(), non_public_global_v6.end(),
                      [&](const v6_range& r) { return in_range(bytes, r); });
}

namespace {

std::string origin_of(const target& t) {
  const bool v6 = t.host.find(':') != std::string::npos;
  std::string out = t.tls ? "https://" : "http://";
  if (v6) out += '[';
  out += t.host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(t.port);
  return out;
}

}  // namespace

std::variant<target, std::string> parse_target(std::string_view url) {
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return std::string("url is not a valid absolute URL");
  const boost::urls::url_view& u = *parsed;

  target out;
  const std::string scheme = ascii_lower(u.scheme());
  if (scheme == "https") {
    out.tls = true;
    out.port = 443;
  } else if (scheme == "http") {
    out.port = 80;
  } else {
    return std::string("url must use http or https");
  }
  if (!u.has_authority() || u.encoded_host().empty()) return std::string("url must have a host");
  // Credentials in a URL end up in logs and in every pool key; headers are the place for them.
  if (u.has_userinfo()) return std::string("url must not contain credentials (user:password@)");
  if (u.has_fragment()) return std::string("url must not contain a fragment (#...)");

  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::name:
      out.host = ascii_lower(u.encoded_host_address());
      // A percent-encoded name is never a DNS name a resolver or certificate would accept.
      if (out.host.find('%') != std::string::npos) {
        return std::string("url host must not be percent-encoded");
      }
      break;
    case boost::urls::host_type::ipv6:
      out.host = ascii_lower(u.encoded_host_address());
      break;
    default:
      return std::string("url host must be a DNS name or an IP address");
  }

  if (u.has_port() && !u.port().empty()) {
    const std::string_view text = u.port();
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) {
      return std::string("url port must be between 1 and 65535");
    }
    out.port = static_cast<std::uint16_t>(value);
  }

  out.path_and_query = u.encoded_path();
  if (out.path_and_query.empty()) out.path_and_query = "/";
  if (u.has_query()) {
    out.path_and_query += '?';
    out.path_and_query += u.encoded_query();
  }
  out.origin = origin_of(out);
  return out;
}

std::optional<bool> literal_host_is_public(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string text(host);
  // Asio's make_address takes an IPv6 literal with a scope ("fe80::1%eth0") as the
  // address before the '%': judge it as that address too.
  const std::string v6_text(host.substr(0, host.find('%')));
  std::array<std::uint8_t, 16> v6{};
  if (::inet_pton(AF_INET6, v6_text.c_str(), v6.data()) == 1) return is_public_ipv6(v6);
  in_addr parsed{};
  if (::inet_pton(AF_INET, text.c_str(), &parsed) == 1) return is_public_ipv4(ntohl(parsed.s_addr));
  // The resolver also accepts the legacy inet_aton spellings ("127.1", "2130706433",
  // "0x7f.0.0.1"); treat them as the literals they are so they cannot slip past creation.
  const bool numeric_looking = !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == 'x' || c == 'X' || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
  });
  if (numeric_looking && ::inet_aton(text.c_str(), &parsed) != 0) {
    return is_public_ipv4(ntohl(parsed.s_addr));
  }
  return std::nullopt;
}

}  // namespace dispatcher
