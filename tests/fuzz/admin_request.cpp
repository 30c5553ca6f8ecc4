// Fuzz target: the admin request parser. Raw bytes from an admin client go through
// Beast's request parser with the server's limits, then the conversion to the Beast-free
// admin::request (admin/request_parser), then, as GET /v1/deliveries does, the query
// through the delivery filter parser. Nothing an unauthenticated client sends may crash it.
// Like the server, it reads the header first and refuses chunked bodies (411) before Beast
// parses any chunk.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "dispatcher/admin/request_parser.hpp"
#include "dispatcher/history/filter.hpp"
#include "tests/fuzz/check.hpp"

namespace {

namespace http = boost::beast::http;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(dispatcher::admin::max_body_bytes);
  parser.header_limit(dispatcher::admin::max_header_bytes);

  std::string_view rest(reinterpret_cast<const char*>(data), size);
  boost::beast::error_code ec;
  while (!parser.is_header_done() && !rest.empty()) {
    const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    FUZZ_CHECK(used <= rest.size(), "parser consumed more than it was given");
    rest.remove_prefix(used);
    if (ec == http::error::need_more) break;  // the server would wait for more bytes
    if (ec) return 0;                         // 400 in the server
  }
  if (!parser.is_header_done() || parser.chunked()) return 0;  // waiting, or 411

  parser.eager(true);
  while (!parser.is_done() && !rest.empty()) {
    const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    FUZZ_CHECK(used <= rest.size(), "parser consumed more than it was given");
    rest.remove_prefix(used);
    if (ec == http::error::need_more) {
      ec = {};
      if (used == 0) break;  // a partial request: the server would wait for more bytes
      continue;
    }
    if (ec) return 0;  // 400 or 413 in the server
  }
  if (!parser.is_done()) {
    // The connection closed; with no bytes at all Beast's read reports end_of_stream
    // without asking the parser (put_eof requires got_some()).
    if (!parser.got_some()) return 0;
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
  }

  auto message = parser.release();
  FUZZ_CHECK(message.body().size() <= dispatcher::admin::max_body_bytes, "body over the limit");
  auto request = dispatcher::admin::to_admin_request(message.method_string(), message.target(),
                                                     message[http::field::authorization]);
  if (!request) return 0;
  request->body = std::move(message.body());
  FUZZ_CHECK(!request->method.empty(), "request without a method");
  FUZZ_CHECK(request->path.find('?') == std::string::npos || request->path.empty() ||
                 request->path.front() == '/',
             "path not in origin form");
  (void)dispatcher::history::parse_delivery_filter(request->query);
  return 0;
}
