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
    append_number(body_, value.size());
    body_ += "\r\n";
    body_ += value;
    body_ += "\r\n";
    ++count_;
    return *this;
  }
  command& arg(std::int64_t value) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    return arg(std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
  /// Appends the arguments of `args`, a command built as an argument list (the scripts'
  /// arguments, redis/script_io.hpp), after these: one copy of its bytes, no re-encoding.
  command& append(const command& args) {
    body_ += args.body_;
    count_ += args.count_;
    return *this;
  }

  /// Appends the RESP array to `out`, without a temporary copy: a script call can be
  /// hundreds of kilobytes, and every fresh buffer of that size costs page faults.
  void append_to(std::string& out) const {
    out += '*';
    append_number(out, count_);
    out += "\r\n";
    out += body_;
  }
  /// Sets aside room for `bytes` more of arguments.
  void reserve(std::size_t bytes) { body_.reserve(body_.size() + bytes); }
  std::size_t size() const noexcept { return count_; }
  /// The encoded arguments' length in bytes.
  std::size_t bytes() const noexcept { return body_.size(); }

 private:
  static void append_number(std::string& out, std::size_t n) {
    char digits[24];
    out.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
  }

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
