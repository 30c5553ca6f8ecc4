// From a parsed HTTP request line to the Beast-free admin::request: the limits the
// server's Beast parser runs with, and the conversion of the request target into a
// decoded path and query. Apart from the session loop, and free of Beast, so that what
// the server makes of untrusted bytes can be fuzzed and unit-tested without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "dispatcher/admin/http_types.hpp"

namespace dispatcher::admin {

// Largest request body: a published event is at most 256 KiB by default (16 MiB at the
// most, DISPATCHER_MAX_PAYLOAD), and nothing else the API takes comes close; bigger
// requests get 413 before their body is read.
inline constexpr std::size_t max_body_bytes = 1024 * 1024;
// Beast's default; admin clients send a handful of short headers.
inline constexpr std::uint32_t max_header_bytes = 8 * 1024;

/// The admin request without its body, from the headers alone (the server decides on the
/// token before reading a body), or nullopt when the target is not in origin form (a 400).
/// `authorization` is the Authorization header's value, empty when absent.
std::optional<request> to_admin_request(std::string_view method, std::string_view target,
                                        std::string_view authorization);

}  // namespace dispatcher::admin
