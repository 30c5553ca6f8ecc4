// The request target is parsed with Boost.URL (origin form only: "/path?query"); the
// query decoding follows what browsers and curl -G send.
#include "dispatcher/admin/request_parser.hpp"

#include <string>

#include <boost/url/parse.hpp>

namespace dispatcher::admin {

namespace http = boost::beast::http;

std::optional<request> to_admin_request(const http::request_header<>& in) {
  const auto target = boost::urls::parse_origin_form(in.target());
  if (!target) return std::nullopt;
  request out;
  out.method = std::string(in.method_string());
  out.path = target->path();
  // params() decodes %XX and '+' (as a space, the form encoding browsers and curl -G use).
  // A repeated key keeps its first value.
  for (const auto& param : target->params()) out.query.emplace(param.key, param.value);
  out.authorization = std::string(in[http::field::authorization]);
  return out;
}

}  // namespace dispatcher::admin
