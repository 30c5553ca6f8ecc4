// The one shape of an admin API error, {"error":{"code":...,"message":...[,"field":...]}}
// (CONTRACT section 6, the Error schema of schemas/openapi.yaml), for the routes and for
// the server's own answers (400, 413, 500) alike, so the two cannot drift apart.
#pragma once

#include <string>
#include <string_view>

#include "dispatcher/admin/http_types.hpp"

namespace dispatcher::admin {

/// The error document; `field` is left out when empty. Text that is not UTF-8 (a query
/// parameter's name, say) is replaced, never thrown on.
std::string error_body(std::string_view code, std::string_view message,
                       std::string_view field = {});

/// A JSON response with that document.
response json_error(int status, std::string_view code, std::string_view message,
                    std::string_view field = {});

}  // namespace dispatcher::admin
