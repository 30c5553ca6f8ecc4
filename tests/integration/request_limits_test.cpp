// Bytes of an admin request through Beast's parser with the server's limits, then into
// the Beast-free admin::request: what the session loop does before it reads a body. Here
// rather than in unit/ because it needs Beast, which the unit tests do not link.
#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "dispatcher/admin/request_parser.hpp"

namespace dispatcher::admin {
namespace {

namespace http = boost::beast::http;

struct parsed {
  boost::beast::error_code ec;
  std::optional<request> value;
};

parsed parse(std::string_view bytes) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(max_body_bytes);
  parser.header_limit(max_header_bytes);
  parser.eager(true);
  parsed out;
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), out.ec);
  if (out.ec == http::error::need_more && parser.is_header_done()) out.ec = {};
  // The server decides from the headers alone, before any body is read.
  if (out.ec || !parser.is_header_done()) return out;
  const auto& header = parser.get();
  out.value =
      to_admin_request(header.method_string(), header.target(), header[http::field::authorization]);
  return out;
}

TEST(RequestLimits, the_request_is_made_from_the_headers_before_the_body_arrives) {
  const auto r = parse(
      "POST /v1/events HTTP/1.1\r\nContent-Length: 1048576\r\nAuthorization: Bearer x\r\n\r\n");
  ASSERT_FALSE(r.ec) << r.ec.message();
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->method, "POST");
  EXPECT_EQ(r.value->path, "/v1/events");
  EXPECT_EQ(r.value->authorization, "Bearer x");
  EXPECT_TRUE(r.value->body.empty());
}

TEST(RequestLimits, body_over_the_limit_is_refused_from_its_content_length) {
  const auto r =
      parse("POST /v1/events HTTP/1.1\r\nContent-Length: " + std::to_string(max_body_bytes + 1) +
            "\r\n\r\n");
  EXPECT_EQ(r.ec, http::error::body_limit);
}

TEST(RequestLimits, headers_over_the_limit_are_refused) {
  const auto r =
      parse("GET / HTTP/1.1\r\nX-Long: " + std::string(max_header_bytes, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.ec, http::error::header_limit);
}

}  // namespace
}  // namespace dispatcher::admin
