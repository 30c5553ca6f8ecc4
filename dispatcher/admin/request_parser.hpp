// From HTTP bytes to the Beast-free admin::request: the limits the server's Beast parser
// runs with, and the conversion of a parsed Beast request header (target split into a
// decoded path and query, the Authorization header). Apart from the session loop so
// that what the server makes of untrusted bytes can be fuzzed and tested without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <boost/beast/http/message.hpp>

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
std::optional<request> to_admin_request(const boost::beast::http::request_header<>& in);

}  // namespace dispatcher::admin
