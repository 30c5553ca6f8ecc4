#include "dispatcher/history/filter.hpp"

#include <charconv>

#include "dispatcher/common/time.hpp"
#include "dispatcher/routing/endpoint.hpp"

namespace dispatcher::history {

namespace {

bool is_status(std::string_view s) {
  return s == "pending" || s == "retrying" || s == "succeeded" || s == "failed";
}

std::optional<std::int64_t> field_int(const stored_fields& f, const char* name) {
  auto it = f.find(name);
  if (it == f.end()) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

bool field_is(const stored_fields& f, const char* name, const std::optional<std::string>& want) {
  if (!want) return true;
  auto it = f.find(name);
  return it != f.end() && it->second == *want;
}

bool event_is(const stored_fields& f, const std::optional<std::string>& filter) {
  if (!filter) return true;
  auto it = f.find("event");
  return it != f.end() && routing::event_filter_matches(*filter, it->second);
}

}  // namespace

std::string encode_cursor(const cursor& c) {
  return std::to_string(c.score) + "_" + c.id;
}

std::optional<cursor> decode_cursor(std::string_view text) {
  const auto sep = text.find('_');
  if (sep == std::string_view::npos || sep == 0 || sep + 1 >= text.size()) return std::nullopt;
  cursor c;
  auto [p, ec] = std::from_chars(text.data(), text.data() + sep, c.score);
  if (ec != std::errc() || p != text.data() + sep) return std::nullopt;
  c.id = std::string(text.substr(sep + 1));
  if (!c.id.starts_with("dlv_")) return std::nullopt;
  return c;
}

std::variant<delivery_filter, filter_error> parse_delivery_filter(
    const std::map<std::string, std::string>& params) {
  delivery_filter f;
  for (const auto& [name, value] : params) {
    if (name == "status") {
      if (!is_status(value)) {
        return filter_error{name, "status must be one of pending, retrying, succeeded, failed"};
      }
      f.status = value;
    } else if (name == "event") {
      if (!routing::is_event_filter(value)) {
        return filter_error{name,
                            "event must be an event type or a prefix ending in \".*\", such as "
                            "account.connection.*"};
      }
      f.event = value;
    } else if (name == "endpoint_id" || name == "consumerid" || name == "connectionid") {
      if (value.empty() || value.size() > 256) {
        return filter_error{name, name + " must be a non-empty string"};
      }
      auto& slot = name == "endpoint_id"  ? f.endpoint_id
                   : name == "consumerid" ? f.consumerid
                                          : f.connectionid;
      slot = value;
    } else if (name == "since" || name == "until") {
      auto t = parse_time(value);
      if (!t) return filter_error{name, name + " must be an RFC 3339 time or unix seconds"};
      (name == "since" ? f.since_ms : f.until_ms) = *t;
    } else if (name == "limit") {
      std::size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || n < 1 || n > 500) {
        return filter_error{name, "limit must be an integer from 1 to 500"};
      }
      f.limit = n;
    } else if (name == "cursor") {
      f.after = decode_cursor(value);
      if (!f.after) return filter_error{name, "cursor is not one this API returned"};
    } else {
      return filter_error{
          name, "unknown filter '" + name + "'; valid filters: " + std::string(valid_filters)};
    }
  }
  return f;
}

std::string index_key(const delivery_filter& f) {
  if (f.connectionid) return "idx:dlv:conn:" + *f.connectionid;
  if (f.consumerid) return "idx:dlv:consumer:" + *f.consumerid;
  if (f.endpoint_id) return "idx:dlv:ep:" + *f.endpoint_id;
  // A wildcard spans several type indexes: scan a broader one and match each record.
  if (f.event && !f.event->ends_with(".*")) return "idx:dlv:type:" + *f.event;
  if (f.status) return "idx:dlv:status:" + *f.status;
  return "idx:dlv";
}

bool matches(const delivery_filter& f, const stored_fields& fields) {
  if (!field_is(fields, "status", f.status) || !field_is(fields, "endpoint_id", f.endpoint_id) ||
      !event_is(fields, f.event) || !field_is(fields, "consumerid", f.consumerid) ||
      !field_is(fields, "connectionid", f.connectionid)) {
    return false;
  }
  if (f.since_ms || f.until_ms) {
    auto created = field_int(fields, "created_at");
    if (!created) return false;
    if (f.since_ms && *created < *f.since_ms) return false;
    if (f.until_ms && *created >= *f.until_ms) return false;
  }
  return true;
}

}  // namespace dispatcher::history
