// A delivery (one event for one endpoint) and its attempts as records: the deterministic
// delivery id, the attempt record written by the complete script, and the API JSON built
// from the stored hash. No I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dispatcher::history {

using stored_fields = std::map<std::string, std::string>;

/// "dlv_" + 24 hex digits of SHA-256(event_id, endpoint_id): reprocessing the same event
/// for the same endpoint always lands on the same record.
std::string delivery_id(std::string_view event_id, std::string_view endpoint_id);

enum class trigger { scheduled, manual };

struct attempt_record {
  int attempt = 1;
  std::int64_t started_at_ms = 0;
  std::int64_t duration_ms = 0;
  std::optional<int> status_code;
  std::string error;  // empty when a response arrived
  std::string response_excerpt;
  trigger cause = trigger::scheduled;
};

/// Compact JSON kept in att:<delivery id>.
std::string to_storage(const attempt_record& a);

/// The API form of a stored attempt (times as RFC 3339).
nlohmann::json attempt_json(std::string_view stored);

/// The API form of a delivery from its hash fields; nullopt when the fields are not a
/// delivery (expired or never written).
std::optional<nlohmann::json> delivery_json(std::string_view id, const stored_fields& fields);

}  // namespace dispatcher::history
