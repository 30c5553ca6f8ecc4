// Target URL parsing and the SSRF address policy.
#include "dispatcher/common/target.hpp"

#include <arpa/inet.h>

#include <gtest/gtest.h>

namespace dispatcher {
namespace {

target parse_target_ok(std::string_view url) {
  auto result = parse_target(url);
  EXPECT_TRUE(std::holds_alternative<target>(result))
      << url << ": "
      << (std::holds_alternative<std::string>(result) ? std::get<std::string>(result)
                                                      : std::string());
  return std::holds_alternative<target>(result) ? std::get<target>(result) : target{};
}

std::string parse_error(std::string_view url) {
  auto result = parse_target(url);
  EXPECT_TRUE(std::holds_alternative<std::string>(result)) << url << " was accepted";
  return std::holds_alternative<std::string>(result) ? std::get<std::string>(result)
                                                     : std::string();
}

// The test's own reading of an address text (inet_pton), so the policy is checked against
// the bytes the resolver would hand it.
bool is_public(const char* text) {
  std::array<std::uint8_t, 16> v6{};
  if (::inet_pton(AF_INET6, text, v6.data()) == 1) return is_public_ipv6(v6);
  in_addr v4{};
  if (::inet_pton(AF_INET, text, &v4) == 1) return is_public_ipv4(ntohl(v4.s_addr));
  ADD_FAILURE() << text << " is not an address";
  return false;
}

TEST(target, https_url_gets_default_port_443_and_root_path) {
  const target t = parse_target_ok("https://hooks.example.com");
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.host, "hooks.example.com");
  EXPECT_EQ(t.port, 443);
  EXPECT_EQ(t.path_and_query, "/");
  EXPECT_EQ(t.origin, "https://hooks.example.com:443");
}

TEST(target, http_url_gets_default_port_80) {
  const target t = parse_target_ok("http://hooks.example.com/in");
  EXPECT_FALSE(t.tls);
  EXPECT_EQ(t.port, 80);
  EXPECT_EQ(t.origin, "http://hooks.example.com:80");
}

TEST(target, explicit_port_and_encoded_path_and_query_are_kept) {
  const target t = parse_target_ok("https://hooks.example.com:8443/a%20b/c?x=1&y=%2F");
  EXPECT_EQ(t.port, 8443);
  EXPECT_EQ(t.path_and_query, "/a%20b/c?x=1&y=%2F");
}

TEST(target, query_without_path_gets_a_root_path) {
  EXPECT_EQ(parse_target_ok("https://example.com?token=abc").path_and_query, "/?token=abc");
}

TEST(target, scheme_and_host_are_case_insensitive) {
  const target t = parse_target_ok("HTTPS://Hooks.Example.COM/Path");
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.host, "hooks.example.com");
  EXPECT_EQ(t.path_and_query, "/Path");
}

TEST(target, ipv6_host_loses_its_brackets_and_origin_restores_them) {
  const target t = parse_target_ok("http://[2001:4860::8888]:8080/x");
  EXPECT_EQ(t.host, "2001:4860::8888");
  EXPECT_EQ(t.port, 8080);
  EXPECT_EQ(t.origin, "http://[2001:4860::8888]:8080");
}

TEST(target, empty_port_means_default_port) {
  EXPECT_EQ(parse_target_ok("https://example.com:/").port, 443);
}

TEST(target, rejects_other_schemes) {
  EXPECT_EQ(parse_error("ftp://example.com/"), "url must use http or https");
  parse_error("file:///etc/passwd");
  parse_error("gopher://example.com/");
}

TEST(target, rejects_missing_host) {
  parse_error("http:///path");
  parse_error("https:example.com");
}

TEST(target, rejects_userinfo) {
  EXPECT_NE(parse_error("https://user:pass@example.com/").find("credentials"), std::string::npos);
  parse_error("https://user@example.com/");
}

TEST(target, rejects_fragment) {
  EXPECT_NE(parse_error("https://example.com/#frag").find("fragment"), std::string::npos);
}

TEST(target, rejects_relative_and_malformed_urls) {
  parse_error("/just/a/path");
  parse_error("");
  parse_error("https://exa mple.com/");
  parse_error("not a url");
}

TEST(target, rejects_out_of_range_ports) {
  parse_error("https://example.com:0/");
  parse_error("https://example.com:65536/");
  parse_error("https://example.com:99999999999/");
}

TEST(target, rejects_percent_encoded_host) {
  parse_error("https://ex%61mple.com/");
}

TEST(address_policy, public_addresses_are_allowed) {
  EXPECT_TRUE(is_public("8.8.8.8"));
  EXPECT_TRUE(is_public("1.1.1.1"));
  EXPECT_TRUE(is_public("100.63.255.255"));  // just below CGNAT
  EXPECT_TRUE(is_public("100.128.0.0"));     // just above CGNAT
  EXPECT_TRUE(is_public("172.32.0.1"));      // just above 172.16/12
  EXPECT_TRUE(is_public("11.0.0.1"));
  EXPECT_TRUE(is_public("223.255.255.255"));  // just below multicast
  EXPECT_TRUE(is_public("2001:4860:4860::8888"));
  EXPECT_TRUE(is_public("::ffff:8.8.8.8"));
}

TEST(address_policy, non_global_ipv4_ranges_are_refused) {
  for (const char* address :
       {"127.0.0.1",      "127.255.255.254", "10.0.0.1",       "10.255.255.255",  "172.16.0.1",
        "172.31.255.255", "192.168.1.1",     "100.64.0.1",     "100.127.255.255", "169.254.169.254",
        "0.0.0.0",        "0.1.2.3",         "224.0.0.1",      "239.255.255.255", "255.255.255.255",
        "192.0.0.8",      "198.18.0.1",      "198.19.255.255", "240.0.0.1",       "192.0.2.1",
        "198.51.100.7",   "203.0.113.9"}) {
    EXPECT_FALSE(is_public(address)) << address;
  }
}

TEST(address_policy, non_global_ipv6_ranges_are_refused) {
  for (const char* address : {"::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1",
                              "ff02::1", "ff0e::1", "2001:db8::1", "fec0::1"}) {
    EXPECT_FALSE(is_public(address)) << address;
  }
}

TEST(address_policy, ipv4_mapped_ipv6_is_judged_by_its_ipv4_form) {
  EXPECT_FALSE(is_public("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_public("::ffff:10.1.2.3"));
  EXPECT_FALSE(is_public("::ffff:169.254.169.254"));
  EXPECT_TRUE(is_public("::ffff:93.184.216.34"));
}

TEST(address_policy, nat64_prefix_is_judged_by_its_embedded_ipv4) {
  EXPECT_FALSE(is_public("64:ff9b::7f00:1"));  // 127.0.0.1
  EXPECT_TRUE(is_public("64:ff9b::808:808"));  // 8.8.8.8
}

TEST(address_policy, six_to_four_is_refused_whatever_ipv4_it_embeds) {
  // 2002:AABB:CCDD::/48 is relayed to the IPv4 host AA.BB.CC.DD; 6to4 is deprecated (RFC 7526).
  EXPECT_FALSE(is_public("2002::"));
  EXPECT_FALSE(is_public("2002:7f00:1::1"));   // 127.0.0.1
  EXPECT_FALSE(is_public("2002:a00:1::1"));    // 10.0.0.1
  EXPECT_FALSE(is_public("2002:808:808::1"));  // 8.8.8.8
  EXPECT_FALSE(is_public("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_TRUE(is_public("2003::1"));                                  // just above 2002::/16
  EXPECT_TRUE(is_public("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));  // just below
}

TEST(address_policy, teredo_and_the_ietf_protocol_block_are_refused) {
  EXPECT_FALSE(is_public("2001::"));
  EXPECT_FALSE(is_public("2001::1"));
  EXPECT_FALSE(is_public("2001:0:4136:e378:8000:63bf:3fff:fdd2"));  // Teredo, RFC 4380 example
  EXPECT_FALSE(is_public("2001:0:ffff:ffff:ffff:ffff:ffff:ffff"));  // end of Teredo's /32
  EXPECT_FALSE(is_public("2001:2::1"));                             // benchmarking, in 2001::/23
  EXPECT_FALSE(is_public("2001:1ff:ffff::1"));                      // end of 2001::/23
  EXPECT_TRUE(is_public("2001:200::1"));                            // first block after it
}

TEST(address_policy, local_use_nat64_is_refused_even_with_a_public_ipv4) {
  // 64:ff9b:1::/48 (RFC 8215) is translated by a local NAT64 into the operator's own network.
  EXPECT_FALSE(is_public("64:ff9b:1::808:808"));
  EXPECT_FALSE(is_public("64:ff9b:1::a00:1"));
  EXPECT_FALSE(is_public("64:ff9b:1:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_TRUE(is_public("64:ff9b::808:808"));  // the well-known /96 is still judged by its IPv4
}

TEST(address_policy, ranges_outside_global_unicast_and_new_documentation_are_refused) {
  for (const char* address :
       {"::7f00:1", "::808:808", "::ffff:0:808:808", "100::1", "5f00::1", "3fff::1",
        "3fff:fff:ffff::1", "4000::1", "1fff:ffff::1", "e000::1"}) {
    EXPECT_FALSE(is_public(address)) << address;
  }
  EXPECT_TRUE(is_public("3fff:1000::1"));  // just above the 3fff::/20 documentation block
}

TEST(literal_host, dns_names_are_not_literals) {
  EXPECT_EQ(literal_host_is_public("hooks.example.com"), std::nullopt);
  EXPECT_EQ(literal_host_is_public("localhost"), std::nullopt);
  EXPECT_EQ(literal_host_is_public("deadbeef.example"), std::nullopt);
}

TEST(literal_host, ip_literals_are_judged) {
  EXPECT_EQ(literal_host_is_public("10.0.0.1"), false);
  EXPECT_EQ(literal_host_is_public("8.8.8.8"), true);
  EXPECT_EQ(literal_host_is_public("::1"), false);
  EXPECT_EQ(literal_host_is_public("[::1]"), false);
  EXPECT_EQ(literal_host_is_public("2001:4860::8888"), true);
}

TEST(literal_host, tunnel_and_local_nat64_literals_are_refused_at_creation) {
  for (const char* url : {"http://[2002:7f00:1::1]/", "https://[2002:808:808::1]:8443/",
                          "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "http://[2001::a00:1]/",
                          "http://[64:ff9b:1::808:808]/", "http://[::ffff:0:7f00:1]/"}) {
    EXPECT_EQ(literal_host_is_public(parse_target_ok(url).host), false) << url;
  }
  EXPECT_EQ(literal_host_is_public("[2002:a00:1::1]"), false);
  EXPECT_EQ(literal_host_is_public(parse_target_ok("http://[64:ff9b::808:808]/").host), true);
}

TEST(literal_host, legacy_ipv4_spellings_the_resolver_accepts_are_judged_too) {
  EXPECT_EQ(literal_host_is_public("127.1"), false);
  EXPECT_EQ(literal_host_is_public("2130706433"), false);  // 127.0.0.1 as one number
  EXPECT_EQ(literal_host_is_public("0x7f.0.0.1"), false);
  EXPECT_EQ(literal_host_is_public("0x08080808"), true);
}

TEST(literal_host, parsed_target_host_feeds_the_literal_check) {
  EXPECT_EQ(literal_host_is_public(parse_target_ok("http://[fe80::1]/").host), false);
  EXPECT_EQ(literal_host_is_public(parse_target_ok("http://192.168.0.10:8080/").host), false);
}

}  // namespace
}  // namespace dispatcher
