// Apart from endpoint_store.cpp so the reading of a hash, which must never throw whatever a
// hand edit or an older version left in Redis, is unit-tested without Redis or Asio.
#include "dispatcher/routing/endpoint_hash.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace dispatcher::routing {

/// The JSON holds the endpoint; `enabled`, `disabled_reason` and `updated_at` hash fields
/// win over it because the complete script changes them on a 410 without rewriting JSON.
std::variant<endpoint, std::string> endpoint_from_hash(
    const std::map<std::string, std::string>& fields, const signing::secret_box* key) {
  const auto json = fields.find("json");
  if (json == fields.end()) return std::string("the hash has no json field");
  auto ep = from_storage(json->second, key);
  if (!ep) return std::string("its json field is not a valid endpoint record");
  if (auto it = fields.find("enabled"); it != fields.end()) ep->enabled = it->second != "0";
  if (auto it = fields.find("disabled_reason"); it != fields.end()) {
    ep->disabled_reason = it->second;
  }
  // The scripts keep the breaker's state in these fields (redis/scripts.cpp): cb_open
  // while open, cb_probe while a probe attempt is in flight.
  if (fields.count("cb_probe") != 0) {
    ep->circuit = circuit_state::half_open;
  } else if (fields.count("cb_open") != 0) {
    ep->circuit = circuit_state::open;
  }
  if (auto it = fields.find("updated_at"); it != fields.end()) {
    std::int64_t updated = 0;
    const auto& text = it->second;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), updated);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      return "its updated_at field \"" + text.substr(0, 64) + "\" is not an integer";
    }
    ep->updated_at_ms = std::max<std::int64_t>(ep->updated_at_ms, updated);
  }
  return std::move(*ep);
}

}  // namespace dispatcher::routing
