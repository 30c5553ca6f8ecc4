// Redis replies built by hand, for unit tests of the pure functions that read them
// (script replies, stream ranges). Header-only: the unit tests link no support sources.
#pragma once

#include <string>
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

}  // namespace dispatcher::testing
