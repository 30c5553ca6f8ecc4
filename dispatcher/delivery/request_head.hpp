// The bytes of a webhook request's head (request line and header fields), written into a
// buffer the caller keeps: the HTTP client builds one per attempt into the connection's
// own string, so a keep-alive connection formats every request without allocating, and
// the head and the body go out in one write. Pure, so the exact bytes are unit-tested;
// http_client.cpp only sends them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dispatcher/common/target.hpp"

namespace dispatcher::delivery {

/// Header fields to send, in order. Views: the caller keeps the text alive for the whole
/// request (an attempt's headers are the endpoint's and its own locals), so building the
/// list copies nothing.
using header_list = std::vector<std::pair<std::string_view, std::string_view>>;

/// "Host" field value: the host (IPv6 in brackets) and the port when not the scheme's
/// default.
void append_host(std::string& out, const target& to);

/// Why these headers cannot be sent, as a sentence; empty when they can. Refused: a name
/// that is not an RFC 9110 token, a value holding CR, LF or NUL (it would end the line and
/// inject others), and the fields that frame the message (Content-Length,
/// Transfer-Encoding, Connection), which the client sets itself.
std::string header_problem(const header_list& headers);

/// Clears `out` (keeping its capacity) and writes the head of a POST of `body_size` bytes:
/// the request line, Host, User-Agent, Content-Type: application/json, the caller's
/// headers in order (a Host, User-Agent or Content-Type among them replaces ours), values
/// trimmed of surrounding spaces and tabs, Content-Length and the blank line. The headers
/// must have passed header_problem.
void format_request_head(std::string& out, const target& to, std::string_view user_agent,
                         const header_list& headers, std::size_t body_size);

}  // namespace dispatcher::delivery
