// Small conversions from replies to the shapes the stores use.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "dispatcher/redis/reply.hpp"

namespace dispatcher::redis {

/// An HGETALL reply as a map (empty for a missing key or a non-array reply).
inline std::map<std::string, std::string> to_fields(const reply& r) {
  std::map<std::string, std::string> out;
  if (r.type != reply::kind::array) return out;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    out.emplace(r.elements[i].str, r.elements[i + 1].str);
  }
  return out;
}

/// An array of bulk strings (ZRANGE, SMEMBERS) as strings.
inline std::vector<std::string> to_strings(const reply& r) {
  std::vector<std::string> out;
  if (r.type != reply::kind::array) return out;
  out.reserve(r.elements.size());
  for (const auto& e : r.elements) out.push_back(e.str);
  return out;
}

}  // namespace dispatcher::redis
