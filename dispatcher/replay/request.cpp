// A bulk replay is the list's filters plus dry_run, parsed with the same rules, so what a
// dry run counts is exactly what the replay queues.
#include "dispatcher/replay/request.hpp"

#include <algorithm>
#include <map>

namespace dispatcher::replay {

namespace {

using history::filter_error;
using json = nlohmann::json;

/// The body's filter fields as list parameters, so both share parse_delivery_filter.
std::variant<std::map<std::string, std::string>, filter_error> to_params(
    const json& body, std::initializer_list<std::string_view> allowed) {
  std::map<std::string, std::string> params;
  for (const auto& [name, value] : body.items()) {
    if (name == "dry_run") continue;
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return filter_error{name, "unknown field '" + name + "'"};
    }
    const bool is_time = name == "since" || name == "until";
    if (value.is_string()) {
      params[name] = value.get<std::string>();
    } else if (is_time && value.is_number_integer()) {
      params[name] = std::to_string(value.get<std::int64_t>());
    } else {
      return filter_error{name, is_time ? name + " must be an RFC 3339 time or unix seconds"
                                        : name + " must be a string"};
    }
  }
  return params;
}

std::variant<bulk_request, filter_error> finish(
    std::variant<std::map<std::string, std::string>, filter_error> params, const json& body) {
  if (auto* bad = std::get_if<filter_error>(&params)) return *bad;
  auto parsed = history::parse_delivery_filter(std::get<0>(params));
  if (auto* bad = std::get_if<filter_error>(&parsed)) return *bad;
  bulk_request out{std::move(std::get<history::delivery_filter>(parsed)), false};
  if (body.contains("dry_run")) {
    if (!body["dry_run"].is_boolean()) return filter_error{"dry_run", "dry_run must be a boolean"};
    out.dry_run = body["dry_run"].get<bool>();
  }
  if (out.filter.since_ms && out.filter.until_ms && *out.filter.since_ms >= *out.filter.until_ms) {
    return filter_error{"until", "until must be later than since"};
  }
  return out;
}

}  // namespace

std::variant<bulk_request, filter_error> parse_bulk_retry(const json& body) {
  auto out = finish(to_params(body, {"status", "endpoint_id", "event", "consumerid", "connectionid",
                                     "since", "until"}),
                    body);
  if (auto* request = std::get_if<bulk_request>(&out)) {
    using history::delivery_status;
    auto& status = request->filter.status;
    if (!status) status = delivery_status::failed;
    // Pending and retrying deliveries are already queued: replaying them would only
    // reorder the queue.
    if (*status != delivery_status::failed && *status != delivery_status::succeeded) {
      return filter_error{"status", "status must be failed or succeeded"};
    }
  }
  return out;
}

std::variant<bulk_request, filter_error> parse_recover(const json& body,
                                                       const std::string& endpoint_id) {
  auto out = finish(to_params(body, {"since", "until"}), body);
  if (auto* request = std::get_if<bulk_request>(&out)) {
    request->filter.endpoint_id = endpoint_id;
    request->filter.status = history::delivery_status::failed;
  }
  return out;
}

}  // namespace dispatcher::replay
