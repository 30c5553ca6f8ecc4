// Parsing refuses anything it does not know, because a misspelt filter in a bulk retry
// would otherwise match every delivery; cursors carry the score, id and event to resume at.
#include "dispatcher/history/filter.hpp"

#include <algorithm>
#include <charconv>
#include <functional>

#include "dispatcher/common/ids.hpp"
#include "dispatcher/common/time.hpp"

namespace dispatcher::history {

std::string encode_cursor(const cursor& c) {
  auto out = std::to_string(c.score) + "_" + c.id;
  if (!c.event.empty()) out.append("~").append(c.event);
  return out;
}

std::optional<cursor> decode_cursor(std::string_view text) {
  const auto sep = text.find('_');
  if (sep == std::string_view::npos || sep == 0 || sep + 1 >= text.size()) return std::nullopt;
  cursor c;
  auto [p, ec] = std::from_chars(text.data(), text.data() + sep, c.score);
  if (ec != std::errc() || p != text.data() + sep) return std::nullopt;
  auto rest = text.substr(sep + 1);
  if (const auto tilde = rest.find('~'); tilde != std::string_view::npos) {
    c.event = std::string(rest.substr(tilde + 1));
    rest = rest.substr(0, tilde);
    if (c.event.empty()) return std::nullopt;
  }
  c.id = std::string(rest);
  if (!c.id.starts_with("dlv_")) return std::nullopt;
  return c;
}

std::variant<delivery_filter, filter_error> parse_delivery_filter(
    const std::map<std::string, std::string>& params) {
  delivery_filter f;
  for (const auto& [name, value] : params) {
    if (name == "status") {
      f.status = parse_status(value);
      if (!f.status) {
        return filter_error{name, "status must be one of pending, retrying, succeeded, failed"};
      }
    } else if (name == "event") {
      if (!is_event_filter(value)) {
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

std::string index_key(const redis::keyspace& keys, const delivery_filter& f) {
  if (f.consumerid) return keys.index_consumer(*f.consumerid);
  if (f.endpoint_id) return keys.index_endpoint(*f.endpoint_id);
  return keys.index_all();
}

bool index_holds_events(const delivery_filter& f) {
  return f.consumerid || !f.endpoint_id;
}

std::vector<std::string> deliveries_in_walk(std::vector<std::string> ids, std::int64_t score,
                                            std::string_view event,
                                            const std::optional<cursor>& after) {
  std::sort(ids.begin(), ids.end(), std::greater<>());
  if (!after || score != after->score) return ids;  // the walk starts at the cursor's score
  // Members of one score come in reverse order: an event above the cursor's was on an
  // earlier page, one below it is new. A cursor without an event (from a walk of
  // deliveries) keeps, in each event of its score, the ids below its own.
  if (!after->event.empty() && event != after->event) {
    if (event > after->event) ids.clear();
    return ids;
  }
  std::erase_if(ids, [&](const std::string& id) { return id >= after->id; });
  return ids;
}

bool matches(const delivery_filter& f, const delivery_record& d, const event_record* event) {
  if (f.status && d.status != *f.status) return false;
  if (f.endpoint_id && d.endpoint_id != *f.endpoint_id) return false;
  if (f.since_ms && d.created_at_ms < *f.since_ms) return false;
  if (f.until_ms && d.created_at_ms >= *f.until_ms) return false;
  if (!f.event && !f.consumerid && !f.connectionid) return true;
  if (!event) return false;
  if (f.event && !event_filter_matches(*f.event, event->type)) return false;
  if (f.consumerid && event->consumerid != *f.consumerid) return false;
  return !f.connectionid || event->connectionid == *f.connectionid;
}

}  // namespace dispatcher::history
