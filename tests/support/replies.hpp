// Redis replies built by hand, for unit tests of the pure functions that read them
// (script replies, stream ranges), and a command's arguments read back as text, for tests
// of the functions that encode them. Header-only: the unit tests link no support sources.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dispatcher/redis/reply.hpp"

namespace dispatcher::testing {

inline redis::reply string_reply(std::string s) {
  redis::reply r;
  r.type = redis::reply::kind::string;
  r.str = std::move(s);
  return r;
}

inline redis::reply integer_reply(long long v) {
  redis::reply r;
  r.type = redis::reply::kind::integer;
  r.integer = v;
  return r;
}

inline redis::reply array_reply(std::vector<redis::reply> elements) {
  redis::reply r;
  r.type = redis::reply::kind::array;
  r.elements = std::move(elements);
  return r;
}

/// The arguments of `c` as it goes on the wire ("*<n>" then "$<length>" and the bytes of
/// each), decoded: what Redis would read, not what the encoder meant to write.
inline std::vector<std::string> args_of(const redis::command& c) {
  std::string wire;
  c.append_to(wire);
  std::string_view rest(wire);
  auto number_after = [&rest](char marker) {
    const auto end = rest.find("\r\n");
    if (rest.empty() || rest.front() != marker || end == std::string_view::npos) {
      throw std::runtime_error("not a RESP array of bulk strings");
    }
    const auto n = std::stoul(std::string(rest.substr(1, end - 1)));
    rest.remove_prefix(end + 2);
    return n;
  };
  std::vector<std::string> args(number_after('*'));
  for (auto& arg : args) {
    const auto length = number_after('$');
    if (rest.size() < length + 2 || rest.substr(length, 2) != "\r\n") {
      throw std::runtime_error("a bulk string without its end");
    }
    arg = rest.substr(0, length);
    rest.remove_prefix(length + 2);
  }
  if (!rest.empty()) throw std::runtime_error("bytes after the last argument");
  return args;
}

}  // namespace dispatcher::testing
