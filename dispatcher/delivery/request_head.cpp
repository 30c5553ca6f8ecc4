// The request head's bytes; see request_head.hpp.
#include "dispatcher/delivery/request_head.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "dispatcher/common/ascii.hpp"

namespace dispatcher::delivery {

namespace {

// RFC 9110's tchar, as a table: checked for every header of every request.
constexpr std::array<bool, 256> token_chars = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~")) {
    t[static_cast<unsigned char>(c)] = true;
  }
  return t;
}();

/// A header name must be an RFC 9110 token; anything else (a colon, a space, a line
/// break) would let a configured header rewrite the request.
bool is_valid_header_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return token_chars[static_cast<unsigned char>(c)];
  });
}

/// CR, LF or NUL in a value would end the header line and inject others. (One pass: the
/// find_first_of this was looked each byte up in the three with a memchr.)
bool is_valid_header_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool given(const header_list& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return ascii_iequals(h.first, name); });
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(trim(value)).append("\r\n");
}

}  // namespace

void append_host(std::string& out, const target& to) {
  const bool v6 = to.host.find(':') != std::string::npos;
  if (v6) out += '[';
  out += to.host;
  if (v6) out += ']';
  const std::uint16_t default_port = to.tls ? 443 : 80;
  if (to.port != default_port) {
    std::array<char, 8> digits{};
    const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), to.port);
    (void)ec;  // 8 characters hold any port
    out += ':';
    out.append(digits.data(), end);
  }
}

std::string header_problem(const header_list& headers) {
  for (const auto& [name, value] : headers) {
    if (!is_valid_header_name(name) || !is_valid_header_value(value)) {
      return "header \"" + std::string(name) +
             "\" has an invalid name or a line break in its value";
    }
    if (ascii_iequals(name, "content-length") || ascii_iequals(name, "transfer-encoding") ||
        ascii_iequals(name, "connection")) {
      return "header \"" + std::string(name) + "\" is set by the dispatcher";
    }
  }
  return {};
}

void format_request_head(std::string& out, const target& to, std::string_view user_agent,
                         const header_list& headers, std::size_t body_size) {
  out.clear();
  out.append("POST ").append(to.path_and_query).append(" HTTP/1.1\r\n");
  // A caller's Host, User-Agent or Content-Type replaces ours, where it stands in its list.
  if (!given(headers, "host")) {
    out.append("Host: ");
    append_host(out, to);
    out.append("\r\n");
  }
  if (!given(headers, "user-agent")) append_field(out, "User-Agent", user_agent);
  if (!given(headers, "content-type")) append_field(out, "Content-Type", "application/json");
  for (const auto& [name, value] : headers) append_field(out, name, value);
  std::array<char, 24> digits{};
  const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), body_size);
  (void)ec;  // 24 characters hold any size
  out.append("Content-Length: ").append(digits.data(), end).append("\r\n\r\n");
}

}  // namespace dispatcher::delivery
