// The webhook request's head, byte for byte: what http_client writes before the body.
#include "dispatcher/delivery/request_head.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace dispatcher::delivery {
namespace {

target http_target(std::string host, std::uint16_t port, std::string path, bool tls = false) {
  target t;
  t.tls = tls;
  t.host = std::move(host);
  t.port = port;
  t.path_and_query = std::move(path);
  return t;
}

TEST(request_head, post_with_our_fields_then_the_callers_then_the_length) {
  std::string out;
  format_request_head(out, http_target("example.com", 80, "/hook?a=1"), "dispatcher/1",
                      {{"webhook-id", "evt_1"}, {"X-Tenant", "acme"}}, 412);
  EXPECT_EQ(out,
            "POST /hook?a=1 HTTP/1.1\r\n"
            "Host: example.com\r\n"
            "User-Agent: dispatcher/1\r\n"
            "Content-Type: application/json\r\n"
            "webhook-id: evt_1\r\n"
            "X-Tenant: acme\r\n"
            "Content-Length: 412\r\n"
            "\r\n");
}

TEST(request_head, host_names_the_port_only_when_it_is_not_the_schemes_default) {
  std::string out;
  format_request_head(out, http_target("127.0.0.1", 8080, "/"), "ua", {}, 0);
  EXPECT_NE(out.find("\r\nHost: 127.0.0.1:8080\r\n"), std::string::npos) << out;
  format_request_head(out, http_target("example.com", 443, "/", true), "ua", {}, 0);
  EXPECT_NE(out.find("\r\nHost: example.com\r\n"), std::string::npos) << out;
  format_request_head(out, http_target("example.com", 80, "/", true), "ua", {}, 0);
  EXPECT_NE(out.find("\r\nHost: example.com:80\r\n"), std::string::npos) << out;
}

TEST(request_head, ipv6_hosts_are_bracketed) {
  std::string out;
  format_request_head(out, http_target("::1", 9000, "/"), "ua", {}, 0);
  EXPECT_NE(out.find("\r\nHost: [::1]:9000\r\n"), std::string::npos) << out;
}

TEST(request_head, a_callers_host_user_agent_or_content_type_replaces_ours) {
  std::string out;
  format_request_head(out, http_target("example.com", 80, "/"), "ua",
                      {{"content-type", "text/plain"}, {"HOST", "other"}, {"User-Agent", "me"}}, 2);
  EXPECT_EQ(out,
            "POST / HTTP/1.1\r\n"
            "content-type: text/plain\r\n"
            "HOST: other\r\n"
            "User-Agent: me\r\n"
            "Content-Length: 2\r\n"
            "\r\n");
}

TEST(request_head, values_are_trimmed_of_surrounding_spaces_and_tabs) {
  std::string out;
  format_request_head(out, http_target("h", 80, "/"), "ua", {{"x-a", " \tv a l\t "}}, 0);
  EXPECT_NE(out.find("\r\nx-a: v a l\r\n"), std::string::npos) << out;
}

TEST(request_head, the_buffer_is_rewritten_not_appended_to) {
  std::string out;
  const std::string long_value(300, 'v');
  format_request_head(out, http_target("a-long-host-name.example.com", 80, "/first/path"), "ua",
                      {{"x-long", long_value}}, 1000);
  format_request_head(out, http_target("b", 80, "/"), "ua", {}, 1);
  EXPECT_EQ(out,
            "POST / HTTP/1.1\r\nHost: b\r\nUser-Agent: ua\r\nContent-Type: "
            "application/json\r\nContent-Length: 1\r\n\r\n");
}

TEST(request_head, headers_that_could_rewrite_the_request_are_refused) {
  EXPECT_EQ(header_problem({{"x-ok", "fine"}, {"webhook-id", "evt"}}), "");
  EXPECT_NE(header_problem({{"x-bad", "a\r\nInjected: 1"}}), "");
  EXPECT_NE(header_problem({{"x-bad", std::string_view("a\0b", 3)}}), "");
  EXPECT_NE(header_problem({{"bad name", "v"}}), "");
  EXPECT_NE(header_problem({{"bad:name", "v"}}), "");
  EXPECT_NE(header_problem({{"", "v"}}), "");
}

TEST(request_head, every_byte_is_judged_as_rfc_9110_says_in_names_and_values) {
  const std::string_view tchar_symbols = "!#$%&'*+-.^_`|~";
  for (int byte = 0; byte < 256; ++byte) {
    const char c = static_cast<char>(byte);
    const bool tchar = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       tchar_symbols.find(c) != std::string_view::npos;
    const std::string name = "x" + std::string(1, c) + "y";
    EXPECT_EQ(header_problem({{name, "v"}}).empty(), tchar) << byte;
    const bool breaks_line = c == '\r' || c == '\n' || c == '\0';
    const std::string value = "a" + std::string(1, c) + "b";
    EXPECT_EQ(header_problem({{"x-v", value}}).empty(), !breaks_line) << byte;
  }
  EXPECT_FALSE(header_problem({{"", "v"}}).empty());
  EXPECT_TRUE(header_problem({{"x", ""}}).empty());
}

TEST(request_head, framing_fields_are_the_clients_own) {
  EXPECT_EQ(header_problem({{"Content-Length", "5"}}),
            "header \"Content-Length\" is set by the dispatcher");
  EXPECT_NE(header_problem({{"transfer-encoding", "chunked"}}), "");
  EXPECT_NE(header_problem({{"Connection", "close"}}), "");
}

}  // namespace
}  // namespace dispatcher::delivery
