#include "dispatcher/history/delivery.hpp"

#include <charconv>

#include "dispatcher/common/json.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/signing/signature.hpp"

namespace dispatcher::history {

namespace {

std::optional<std::int64_t> to_int(const stored_fields& f, const char* name) {
  auto it = f.find(name);
  if (it == f.end() || it->second.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

nlohmann::json string_or_null(const stored_fields& f, const char* name) {
  auto it = f.find(name);
  if (it == f.end() || it->second.empty()) return nullptr;
  return it->second;
}

nlohmann::json time_or_null(std::optional<std::int64_t> ms) {
  if (!ms) return nullptr;
  return format_rfc3339(*ms);
}

}  // namespace

std::string delivery_id(std::string_view event_id, std::string_view endpoint_id) {
  std::string key;
  key.reserve(event_id.size() + endpoint_id.size() + 1);
  key.append(event_id).append("\n").append(endpoint_id);
  return "dlv_" + signing::sha256_hex(key).substr(0, 24);
}

std::string to_storage(const attempt_record& a) {
  nlohmann::json j = {
      {"attempt", a.attempt},
      {"started_at", a.started_at_ms},
      {"duration_ms", a.duration_ms},
      {"status_code", a.status_code ? nlohmann::json(*a.status_code) : nlohmann::json(nullptr)},
      {"error", a.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.error)},
      {"response_excerpt", a.response_excerpt},
      {"trigger", a.cause == trigger::manual ? "manual" : "scheduled"},
  };
  // The excerpt is arbitrary receiver bytes: replace what is not UTF-8 rather than fail.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json attempt_json(std::string_view stored) {
  auto j = json_or_text(stored);
  if (!j.is_object()) return nlohmann::json::object();
  if (j.contains("started_at") && j["started_at"].is_number_integer()) {
    j["started_at"] = format_rfc3339(j["started_at"].get<std::int64_t>());
  }
  return j;
}

std::optional<nlohmann::json> delivery_json(std::string_view id, const stored_fields& f) {
  if (!f.contains("event_id") || !f.contains("status")) return std::nullopt;
  nlohmann::json j;
  j["id"] = id;
  j["event_id"] = f.at("event_id");
  j["endpoint_id"] = string_or_null(f, "endpoint_id");
  j["event"] = string_or_null(f, "event");
  j["consumerid"] = string_or_null(f, "consumerid");
  j["connectionid"] = string_or_null(f, "connectionid");
  j["status"] = f.at("status");
  j["attempt_count"] = to_int(f, "attempt_count").value_or(0);
  auto code = to_int(f, "last_status_code");
  j["last_status_code"] = code ? nlohmann::json(*code) : nlohmann::json(nullptr);
  j["last_error"] = string_or_null(f, "last_error");
  j["next_attempt_at"] = time_or_null(to_int(f, "next_attempt_at"));
  j["created_at"] = time_or_null(to_int(f, "created_at"));
  j["updated_at"] = time_or_null(to_int(f, "updated_at"));
  return j;
}

}  // namespace dispatcher::history
