// Builds the admin API's error document; see error_body.hpp.
#include "dispatcher/admin/error_body.hpp"

#include <nlohmann/json.hpp>

namespace dispatcher::admin {

std::string error_body(std::string_view code, std::string_view message, std::string_view field) {
  nlohmann::json err = {{"code", code}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  return nlohmann::json{{"error", std::move(err)}}.dump(-1, ' ', false,
                                                        nlohmann::json::error_handler_t::replace);
}

response json_error(int status, std::string_view code, std::string_view message,
                    std::string_view field) {
  response r;
  r.status = status;
  r.body = error_body(code, message, field);
  return r;
}

}  // namespace dispatcher::admin
