// Redis commands and replies as plain values. A command is RESP-encoded as it is built,
// so a batch of them is one buffer to write; a reply is copied out of hiredis's parser
// so it outlives the read buffer.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "dispatcher/common/error.hpp"

namespace dispatcher::redis {

class command {
 public:
  command() = default;
  // Variadic rather than initializer_list: GCC 12 miscompiles an initializer_list of
  // string literals inside a coroutine ("array used as initializer").
  template <class... Args>
  explicit command(const Args&... args) {
    (arg(std::string_view(args)), ...);
  }

  command& arg(std::string_view value) {
    body_ += '$';
    body_ += std::to_string(value.size());
    body_ += "\r\n";
    body_ += value;
    body_ += "\r\n";
    ++count_;
    return *this;
  }
  command& arg(std::int64_t value) { return arg(std::string_view(std::to_string(value))); }

  /// Appends the RESP array to `out`, without a temporary copy: a script call can be
  /// hundreds of kilobytes, and every fresh buffer of that size costs page faults.
  void append_to(std::string& out) const {
    out += '*';
    out += std::to_string(count_);
    out += "\r\n";
    out += body_;
  }
  /// Sets aside room for `bytes` more of arguments.
  void reserve(std::size_t bytes) { body_.reserve(body_.size() + bytes); }
  std::size_t size() const noexcept { return count_; }

 private:
  std::string body_;
  std::size_t count_ = 0;
};

struct reply {
  enum class kind { nil, status, error, integer, string, array };
  kind type = kind::nil;
  std::string str;  // status, error and string replies
  long long integer = 0;
  std::vector<reply> elements;

  bool is_nil() const noexcept { return type == kind::nil; }
  bool is_error() const noexcept { return type == kind::error; }
  /// An integer reply, or a string reply holding an integer (Lua often returns those).
  std::optional<long long> as_integer() const noexcept {
    if (type == kind::integer) return integer;
    if (type != kind::string && type != kind::status) return std::nullopt;
    long long v = 0;
    auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), v);
    if (ec != std::errc() || p != str.data() + str.size()) return std::nullopt;
    return v;
  }
};

/// A transport failure in `ec`, or Redis's answer (which may itself be an error reply).
struct result {
  std::error_code ec;
  reply value;

  bool ok() const noexcept { return !ec && !value.is_error(); }
  /// A sentence for logs: the transport error or Redis's error text.
  std::string error_message() const { return ec ? ec.message() : value.str; }
};

/// The transport error, or redis_error_reply for an error reply; empty when it worked.
inline std::error_code error_of(const result& r) {
  if (r.ec) return r.ec;
  if (r.value.is_error()) return errc::redis_error_reply;
  return {};
}

}  // namespace dispatcher::redis
