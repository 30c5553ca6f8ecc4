// The request target is parsed with Boost.URL (origin form only: "/path?query"); the
// query decoding follows what browsers and curl -G send.
#include "dispatcher/admin/request_parser.hpp"

#include <string>

#include <boost/url/parse.hpp>

namespace dispatcher::admin {

std::optional<request> to_admin_request(std::string_view method, std::string_view target_text,
                                        std::string_view authorization) {
  const auto target = boost::urls::parse_origin_form(target_text);
  if (!target) return std::nullopt;
  request out;
  out.method = std::string(method);
  out.path = target->path();
  // params() decodes %XX and '+' (as a space, the form encoding browsers and curl -G use).
  // A repeated key keeps its first value.
  for (const auto& param : target->params()) out.query.emplace(param.key, param.value);
  out.authorization = std::string(authorization);
  return out;
}

}  // namespace dispatcher::admin
