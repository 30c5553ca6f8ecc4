// The operator console (CONTRACT section 8): which embedded file answers GET /ui and
// /ui/<file>, and the headers that keep the page on its own origin. The files come from
// ui/ and are compiled into the binary by cmake/embed_files.cmake, so the page needs
// nothing beside the executable and no network. A pure function of the request, like
// the rest of the routes; the page's data still goes through the authorised /v1 API.
#pragma once

#include <optional>
#include <string_view>

#include "dispatcher/admin/http_types.hpp"

namespace dispatcher::admin {

/// The Content-Type of a console file, from its extension.
std::string_view console_content_type(std::string_view name);

/// The answer to /ui, /ui/ and /ui/<file>; nothing for any other path, which the API
/// routes as before. Every answer, a 404 or 405 included, carries the security headers.
std::optional<response> console_response(const request& req);

}  // namespace dispatcher::admin
