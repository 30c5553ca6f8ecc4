// Fuzz target: webhook URL parsing and the SSRF address policy (delivery/target). A URL is
// user input at endpoint creation; parsing must never crash, a parsed target must be one
// the HTTP client can use, an IP literal host must always be judged by the policy, and
// the policy must judge an IPv4 address the same in each IPv6 form that reaches it.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <variant>

#include <boost/asio/ip/address.hpp>

#include "dispatcher/common/target.hpp"
#include "tests/fuzz/check.hpp"

namespace {

namespace ip = boost::asio::ip;
using dispatcher::literal_host_is_public;

// As the HTTP client adapts a resolved address to the policy.
bool is_public_address(const ip::address& address) {
  return address.is_v4() ? dispatcher::is_public_ipv4(address.to_v4().to_uint())
                         : dispatcher::is_public_ipv6(address.to_v6().to_bytes());
}

void check_url(std::string_view url) {
  const auto result = dispatcher::parse_target(url);
  const auto* t = std::get_if<dispatcher::target>(&result);
  if (t == nullptr) {
    FUZZ_CHECK(!std::get<std::string>(result).empty(), "a refusal says why");
    return;
  }
  FUZZ_CHECK(!t->host.empty(), "target without a host");
  FUZZ_CHECK(t->port != 0, "target with port 0");
  FUZZ_CHECK(!t->path_and_query.empty(), "target with an empty request target");
  FUZZ_CHECK(t->path_and_query.find_first_of("\r\n") == std::string::npos,
             "CR or LF in the request target (header injection)");
  FUZZ_CHECK(t->host.find_first_of("\r\n /@") == std::string::npos,
             "host with a space, slash, @ or line break");
  const auto& origin = t->origin;
  FUZZ_CHECK(origin.starts_with(t->tls ? "https://" : "http://"), "origin with a wrong scheme");
  // An IPv6 literal (or an IPv4 dotted one) must be judged at creation, not left to DNS.
  if (t->host.find(':') != std::string::npos) {
    FUZZ_CHECK(literal_host_is_public(t->host).has_value(), "IPv6 literal host not judged");
  }
  boost::system::error_code ec;
  const auto address = ip::make_address(t->host, ec);
  if (!ec) {
    const auto judged = literal_host_is_public(t->host);
    FUZZ_CHECK(judged.has_value() && *judged == is_public_address(address),
               "literal host judged differently from its address");
  }
}

void check_address_forms(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return;
  const ip::address_v4 v4(ip::address_v4::bytes_type{data[0], data[1], data[2], data[3]});
  const bool expected = is_public_address(ip::address(v4));
  const auto mapped = ip::make_address_v6(ip::v4_mapped, v4);
  FUZZ_CHECK(is_public_address(ip::address(mapped)) == expected,
             "IPv4-mapped form judged differently from the IPv4 address");
  ip::address_v6::bytes_type nat64{0x00, 0x64, 0xff, 0x9b};
  std::copy(data, data + 4, nat64.begin() + 12);
  FUZZ_CHECK(is_public_address(ip::address(ip::address_v6(nat64))) == expected,
             "NAT64 form judged differently from the IPv4 address");
  FUZZ_CHECK(literal_host_is_public(v4.to_string()) == expected,
             "dotted IPv4 literal judged differently from its address");
  if (size >= 16) {
    ip::address_v6::bytes_type bytes{};
    std::copy(data, data + 16, bytes.begin());
    const ip::address_v6 v6(bytes);
    // Only global unicast (2000::/3) can be public, and within it 6to4 (2002::/16) and
    // Teredo (2001::/32) never are; NAT64 and mapped forms were judged above by their IPv4.
    const bool global_unicast = (bytes[0] & 0xe0) == 0x20;
    const bool tunnel = (bytes[0] == 0x20 && bytes[1] == 0x02) ||
                        (bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0 && bytes[3] == 0);
    if (!global_unicast || tunnel) {
      const bool embeds_v4 =
          v6.is_v4_mapped() ||
          (bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xff && bytes[3] == 0x9b &&
           std::all_of(bytes.begin() + 4, bytes.begin() + 12, [](auto b) { return b == 0; }));
      FUZZ_CHECK(embeds_v4 || !is_public_address(ip::address(v6)),
                 "a tunnel or non-global IPv6 address judged public");
    }
    FUZZ_CHECK(
        literal_host_is_public("[" + v6.to_string() + "]") == is_public_address(ip::address(v6)),
        "bracketed IPv6 literal judged differently from its address");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_url(std::string_view(reinterpret_cast<const char*>(data), size));
  check_address_forms(data, size);
  return 0;
}
