// The routes in one file so the whole API surface reads top to bottom: each handler
// parses and validates its input with the pure parsers (history/filter, replay/request,
// ingest/dead_letter), asks the store, and renders JSON; errors name the field they are
// about.
#include "dispatcher/admin/routes.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdlib>

#include "dispatcher/admin/console.hpp"
#include "dispatcher/admin/error_body.hpp"
#include "dispatcher/common/ascii.hpp"
#include "dispatcher/common/embedded_file.hpp"
#include "dispatcher/common/ids.hpp"
#include "dispatcher/common/json.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/config/duration.hpp"
#include "dispatcher/obs/metrics.hpp"

namespace dispatcher::admin {

using json = nlohmann::json;

namespace {

response json_response(int status, const json& body) {
  response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

response no_content() {
  response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

response unavailable(std::error_code ec) {
  return json_error(503, "unavailable", "storage is unavailable: " + ec.message());
}

response not_found(std::string_view what) {
  return json_error(404, "not_found", std::string(what) + " not found");
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    while (path.starts_with('/')) path.remove_prefix(1);
    if (path.empty()) break;
    const auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  return parts;
}

/// `Bearer <token>`, the scheme in any case (RFC 9110 section 11.1: auth schemes are
/// case-insensitive) followed by one or more spaces. Compares in constant time, so the
/// token cannot be guessed byte by byte from timings.
bool bearer_matches(std::string_view header, const std::string& token) {
  constexpr std::string_view scheme = "bearer";
  if (token.empty() || header.size() <= scheme.size()) return false;
  if (!ascii_iequals(header.substr(0, scheme.size()), scheme)) return false;
  header.remove_prefix(scheme.size());
  if (header.front() != ' ') return false;
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  return header.size() == token.size() &&
         CRYPTO_memcmp(header.data(), token.data(), token.size()) == 0;
}

// Path ids are checked against the shapes the dispatcher gives them before they reach a
// store: an id that cannot exist is a 404 without a lookup, and no text a client writes
// (a ':' in particular) can name a Redis key of another kind.

bool all_of_chars(std::string_view text, bool (*ok)(char)) {
  return std::all_of(text.begin(), text.end(), ok);
}

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/// "dlv_" + 24 lowercase hex digits (history::delivery_id).
bool is_delivery_id(std::string_view id) {
  constexpr std::string_view prefix = "dlv_";
  return id.size() == prefix.size() + 24 && id.starts_with(prefix) &&
         all_of_chars(id.substr(prefix.size()),
                      [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// "ep_" + lowercase letters and digits (routing::generate_endpoint_id makes 24; any
/// length up to 64 is accepted so ids of another generation still resolve).
bool is_endpoint_id(std::string_view id) {
  constexpr std::string_view prefix = "ep_";
  return id.size() > prefix.size() && id.size() <= prefix.size() + 64 && id.starts_with(prefix) &&
         all_of_chars(id.substr(prefix.size()), is_lower_alnum);
}

/// Parses a JSON object body; an empty body is an empty object when allowed.
std::optional<response> parse_body(const request& req, json& out, bool empty_ok) {
  if (req.body.empty() && empty_ok) {
    out = json::object();
    return std::nullopt;
  }
  auto parsed = parse_untrusted_json(req.body);
  if (auto* problem = std::get_if<json_problem>(&parsed)) {
    return json_error(400, "invalid_json", "request body " + problem->message);
  }
  out = std::move(std::get<json>(parsed));
  if (!out.is_object())
    return json_error(400, "invalid_json", "request body must be a JSON object");
  return std::nullopt;
}

response filter_error_response(const history::filter_error& bad) {
  return json_error(422, "validation_error", bad.message, bad.field);
}

bool is_get(const request& r) {
  return r.method == "GET" || r.method == "HEAD";
}

response method_not_allowed() {
  return json_error(405, "method_not_allowed", "method not allowed on this path");
}

/// A history view: the record, a 404 naming `what`, or a 503.
response render_record(const record& r, std::string_view what) {
  if (r.ec) return unavailable(r.ec);
  if (!r.value) return not_found(what);
  return json_response(200, *r.value);
}

/// GET /v1/endpoints?limit=&cursor=: at most `limit` endpoints, those after the one
/// whose id is `after` (all when empty).
struct endpoint_page_request {
  std::size_t limit = 50;
  std::string after;
};

std::variant<endpoint_page_request, response> parse_endpoint_page(
    const std::map<std::string, std::string>& query) {
  endpoint_page_request out;
  for (const auto& [name, value] : query) {
    if (name == "limit") {
      char* end = nullptr;
      const long n = std::strtol(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || n < 1 || n > 500) {
        return json_error(400, "invalid_parameter", "limit must be an integer from 1 to 500",
                          "limit");
      }
      out.limit = static_cast<std::size_t>(n);
    } else if (name == "cursor") {
      out.after = value;
    } else {
      return json_error(400, "invalid_parameter", "unknown parameter '" + name + "'", name);
    }
  }
  return out;
}

/// The page of `all` (in the store's order) the request asks for, and the cursor after it.
json endpoint_page(const std::vector<routing::endpoint>& all, const endpoint_page_request& page) {
  json data = json::array();
  bool started = page.after.empty();
  json next = nullptr;
  for (const auto& ep : all) {
    if (!started) {
      started = ep.id == page.after;
      continue;
    }
    if (data.size() == page.limit) {
      next = data.back()["id"];
      break;
    }
    data.push_back(routing::to_api_json(ep, false));
  }
  return {{"data", std::move(data)}, {"next_cursor", std::move(next)}};
}

}  // namespace

routes::routes(const config::settings& settings, store& data, std::function<std::int64_t()> now_ms)
    : settings_(settings), data_(data), now_ms_(std::move(now_ms)) {}

std::optional<response> routes::authorize(std::string_view path,
                                          std::string_view authorization) const {
  const auto parts = split_path(path);
  if (parts.size() == 1 && parts[0] == "metrics") {
    if (!settings_.metrics_token.empty() &&
        !bearer_matches(authorization, settings_.metrics_token)) {
      return json_error(401, "unauthorized", "a valid metrics bearer token is required");
    }
    return std::nullopt;
  }
  if (!parts.empty() && parts[0] == "v1" && !bearer_matches(authorization, settings_.admin_token)) {
    return json_error(401, "unauthorized", "a valid bearer token is required");
  }
  return std::nullopt;
}

task<response> routes::async_handle(request req) {
  // The server asks authorize() before reading a body; asking again here keeps the
  // handler safe on its own.
  if (auto denied = authorize(req.path, req.authorization)) co_return std::move(*denied);
  const auto parts = split_path(req.path);
  if (parts.size() == 1 && parts[0] == "healthz") {
    co_return json_response(200, {{"status", "ok"}});
  }
  if (parts.size() == 1 && parts[0] == "readyz") co_return co_await async_readiness();
  if (parts.size() == 1 && parts[0] == "openapi.yaml") {
    if (!is_get(req)) co_return method_not_allowed();
    response r;
    r.content_type = "application/yaml";
    r.body = embedded::openapi_files().front().bytes;
    co_return r;
  }
  if (parts.size() == 1 && parts[0] == "metrics") {
    response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = obs::global_metrics().render();
    co_return r;
  }
  if (auto page = console_response(req)) co_return std::move(*page);
  if (parts.empty() || parts[0] != "v1") co_return not_found("path");
  if (parts.size() < 2) co_return not_found("path");
  const auto resource = parts[1];

  if (resource == "endpoints") co_return co_await async_endpoints(req, parts);

  if (resource == "events") {
    if (parts.size() == 2) {
      if (req.method != "POST") co_return method_not_allowed();
      co_return co_await async_publish_event(req);
    }
    if (parts.size() == 3) {
      if (!is_get(req)) co_return method_not_allowed();
      if (!is_event_id(parts[2])) co_return not_found("event");
      co_return render_record(co_await data_.async_get_event(std::string(parts[2])), "event");
    }
  }

  if (resource == "deliveries") co_return co_await async_deliveries(req, parts);
  if (resource == "dead-letters") co_return co_await async_dead_letters(req, parts);

  if (resource == "connections" && parts.size() == 3) {
    if (!is_get(req)) co_return method_not_allowed();
    if (!is_uuid(parts[2])) co_return not_found("connection");
    co_return render_record(co_await data_.async_get_connection(std::string(parts[2])),
                            "connection");
  }

  if (resource == "consumers" && parts.size() == 4 && parts[3] == "connections") {
    if (!is_get(req)) co_return method_not_allowed();
    if (!is_uuid(parts[2])) co_return not_found("consumer");
    std::optional<std::string> status;
    for (const auto& [name, value] : req.query) {
      if (name != "status") {
        co_return json_error(400, "invalid_parameter", "unknown parameter '" + name + "'", name);
      }
      if (value != "active" && value != "inactive" && value != "deleted") {
        co_return json_error(400, "invalid_parameter",
                             "status must be one of active, inactive, deleted", "status");
      }
      status = value;
    }
    auto r = co_await data_.async_consumer_connections(std::string(parts[2]), status);
    if (r.ec) co_return unavailable(r.ec);
    co_return json_response(200, r.value);
  }

  co_return not_found("path");
}

task<response> routes::async_readiness() {
  const auto group = co_await data_.async_check_group();
  switch (group.status) {
    case group_check::state::not_connected:
      co_return json_response(503,
                              {{"status", "unavailable"}, {"reason", "redis is not connected"}});
    case group_check::state::unreadable:
      co_return json_response(503, {{"status", "unavailable"},
                                    {"reason", "consumer group check failed: " + group.failure}});
    case group_check::state::missing:
      co_return json_response(503,
                              {{"status", "unavailable"},
                               {"reason", "consumer group " + settings_.group + " is missing"}});
    case group_check::state::present:
      break;
  }
  // The scheduler loop stamps every pass; a stale stamp means it died (Convoy #1667).
  const auto last = obs::global_metrics().last_scheduler_run_unix.get();
  const auto stale_after = std::max<std::int64_t>(10, settings_.poll_interval.count() / 100);
  const auto now_s = now_ms_() / 1000;
  if (now_s - last > stale_after) {
    co_return json_response(503, {{"status", "unavailable"},
                                  {"reason", "the delivery scheduler has not run for " +
                                                 std::to_string(now_s - last) + " s"}});
  }
  co_return json_response(200, {{"status", "ready"}});
}

task<response> routes::async_endpoints(const request& req, parts_t parts) {
  const routing::validation_options options{settings_.allow_private_targets};
  const auto now = now_ms_();
  json body;

  if (parts.size() == 2) {
    if (req.method == "POST") {
      if (auto bad = parse_body(req, body, false)) co_return *bad;
      auto created = routing::endpoint_from_create(body, options, now);
      if (auto* err = std::get_if<routing::field_error>(&created)) {
        co_return json_error(422, "validation_error", err->message, err->field);
      }
      auto& ep = std::get<routing::endpoint>(created);
      if (auto ec = co_await data_.async_save_endpoint(ep)) co_return unavailable(ec);
      co_return json_response(201, routing::to_api_json(ep, true));
    }
    if (!is_get(req)) co_return method_not_allowed();
    auto page = parse_endpoint_page(req.query);
    if (auto* refused = std::get_if<response>(&page)) co_return std::move(*refused);
    auto all = co_await data_.async_list_endpoints();
    if (all.ec) co_return unavailable(all.ec);
    co_return json_response(200, endpoint_page(all.value, std::get<endpoint_page_request>(page)));
  }

  if (!is_endpoint_id(parts[2])) co_return not_found("endpoint");
  const std::string id(parts[2]);
  auto found = co_await data_.async_get_endpoint(id);
  if (found.ec) co_return unavailable(found.ec);
  if (!found.value) co_return not_found("endpoint");
  auto& ep = *found.value;

  if (parts.size() == 3) {
    if (is_get(req)) co_return json_response(200, routing::to_api_json(ep, false));
    if (req.method == "PATCH") {
      if (auto bad = parse_body(req, body, false)) co_return *bad;
      if (auto err = routing::apply_patch(ep, body, options, now)) {
        co_return json_error(422, "validation_error", err->message, err->field);
      }
      if (ep.enabled) ep.disabled_reason.clear();
      if (auto ec = co_await data_.async_save_endpoint(ep)) co_return unavailable(ec);
      co_return json_response(200, routing::to_api_json(ep, false));
    }
    if (req.method == "DELETE") {
      if (auto ec = co_await data_.async_remove_endpoint(id)) co_return unavailable(ec);
      co_return no_content();
    }
    co_return method_not_allowed();
  }

  if (parts.size() == 4 && parts[3] == "recover") {
    if (req.method != "POST") co_return method_not_allowed();
    if (auto bad = parse_body(req, body, true)) co_return *bad;
    auto parsed = replay::parse_recover(body, id);
    if (auto* bad = std::get_if<history::filter_error>(&parsed)) {
      co_return filter_error_response(*bad);
    }
    if (!ep.enabled) {
      co_return json_error(409, "conflict",
                           "the endpoint is disabled; enable it (PATCH enabled: true) first");
    }
    co_return co_await async_bulk_replay(std::get<replay::bulk_request>(std::move(parsed)));
  }

  if (parts.size() == 5 && parts[3] == "secret" && parts[4] == "rotate") {
    if (req.method != "POST") co_return method_not_allowed();
    if (auto bad = parse_body(req, body, true)) co_return *bad;
    auto grace = std::chrono::milliseconds(std::chrono::hours(24));
    for (const auto& [name, value] : body.items()) {
      if (name != "grace") {
        co_return json_error(422, "validation_error", "unknown field '" + name + "'", name);
      }
      auto parsed =
          value.is_string() ? config::parse_duration(value.get<std::string>()) : std::nullopt;
      if (!parsed || *parsed > std::chrono::hours(24 * 30)) {
        co_return json_error(422, "validation_error",
                             "grace must be a duration such as \"24h\", at most 30d", "grace");
      }
      grace = *parsed;
    }
    routing::rotate_secret(ep, now, grace.count());
    if (auto ec = co_await data_.async_save_endpoint(ep)) co_return unavailable(ec);
    auto answer = routing::to_api_json(ep, true);
    // Until then the old secret still signs (and alone keys x-chift-signature).
    answer["grace_until"] = format_rfc3339(now + grace.count());
    co_return json_response(200, answer);
  }
  co_return not_found("path");
}

task<response> routes::async_deliveries(const request& req, parts_t parts) {
  if (parts.size() == 2) {
    if (!is_get(req)) co_return method_not_allowed();
    auto parsed = history::parse_delivery_filter(req.query);
    if (auto* bad = std::get_if<history::filter_error>(&parsed)) {
      co_return json_error(400, "invalid_parameter", bad->message, bad->field);
    }
    auto r = co_await data_.async_list_deliveries(std::get<history::delivery_filter>(parsed));
    if (r.ec) co_return unavailable(r.ec);
    co_return json_response(200, r.value);
  }
  if (parts.size() == 3 && parts[2] == "retry" && req.method == "POST") {
    json body;
    if (auto bad = parse_body(req, body, false)) co_return *bad;
    auto parsed = replay::parse_bulk_retry(body);
    if (auto* bad = std::get_if<history::filter_error>(&parsed)) {
      co_return filter_error_response(*bad);
    }
    co_return co_await async_bulk_replay(std::get<replay::bulk_request>(std::move(parsed)));
  }
  if (parts.size() == 3) {
    if (!is_get(req)) co_return method_not_allowed();
    if (!is_delivery_id(parts[2])) co_return not_found("delivery");
    co_return render_record(co_await data_.async_get_delivery(std::string(parts[2])), "delivery");
  }
  if (parts.size() == 4 && parts[3] == "retry") {
    if (req.method != "POST") co_return method_not_allowed();
    if (!is_delivery_id(parts[2])) co_return not_found("delivery");
    co_return co_await async_retry_one(std::string(parts[2]));
  }
  co_return not_found("path");
}

task<response> routes::async_bulk_replay(replay::bulk_request bulk) {
  auto r = co_await data_.async_requeue_matching(bulk.filter, bulk.dry_run);
  if (r.ec) co_return unavailable(r.ec);
  co_return json_response(bulk.dry_run ? 200 : 202,
                          {{"matched", r.value.matched}, {"queued", r.value.queued}});
}

task<response> routes::async_retry_one(std::string id) {
  auto r = co_await data_.async_requeue_one(id);
  if (r.ec) co_return unavailable(r.ec);
  const auto& outcome = r.value;
  if (outcome == "not_found") co_return not_found("delivery");
  if (outcome != "queued") {
    const std::string why =
        outcome == "in_flight"           ? "the delivery is being attempted right now"
        : outcome == "endpoint_disabled" ? "its endpoint is disabled; enable it first"
        : outcome == "endpoint_deleted"  ? "its endpoint was deleted"
        : outcome == "event_expired"     ? "its event is past the retention period"
                                     : "the delivery is already queued (status " + outcome + ")";
    co_return json_error(409, "conflict", "cannot retry: " + why);
  }
  auto queued = co_await data_.async_get_delivery(id);
  if (queued.ec) co_return unavailable(queued.ec);
  if (!queued.value) co_return not_found("delivery");
  co_return json_response(202, *queued.value);
}

task<response> routes::async_publish_event(const request& req) {
  // The same validation as the stream; an id is assigned now so it can be returned.
  auto parsed = ingest::parse_event(req.body, ingest::api_entry_id(), settings_.max_payload);
  if (auto* bad = std::get_if<ingest::validation_error>(&parsed)) {
    co_return json_error(req.body.size() > settings_.max_payload ? 413 : 422, "invalid_event",
                         bad->message);
  }
  co_return co_await async_publish(std::get<ingest::event>(std::move(parsed)));
}

task<response> routes::async_publish(ingest::event ev) {
  // An id already accepted is not published again: the producer learns it was a repeat
  // (CONTRACT section 6). One not yet ingested still goes to the stream, where the ingest
  // script's dedupe drops it.
  auto seen = co_await data_.async_event_seen(ev.id);
  if (seen.ec) co_return unavailable(seen.ec);
  if (seen.value) co_return json_response(202, {{"id", ev.id}, {"duplicate", true}});
  if (auto ec = co_await data_.async_append_event(ev.body)) co_return unavailable(ec);
  co_return json_response(202, {{"id", ev.id}});
}

task<response> routes::async_dead_letters(const request& req, parts_t parts) {
  if (parts.size() == 2) {
    if (!is_get(req)) co_return method_not_allowed();
    auto parsed = ingest::parse_dead_letter_query(req.query);
    if (auto* bad = std::get_if<ingest::dead_letter_input_error>(&parsed)) {
      co_return json_error(400, "invalid_parameter", bad->message, bad->field);
    }
    auto page = co_await data_.async_list_dead_letters(std::get<ingest::dead_letter_query>(parsed));
    if (page.ec) co_return unavailable(page.ec);
    json data = json::array();
    for (const auto& letter : page.value.items) data.push_back(ingest::to_api_json(letter));
    co_return json_response(
        200, {{"data", std::move(data)},
              {"next_cursor", page.value.next ? json(*page.value.next) : json(nullptr)}});
  }
  // The id goes into XRANGE and XDEL: only a stream id may reach them.
  if (!is_stream_id(parts[2])) co_return not_found("dead letter");
  const std::string id(parts[2]);
  if (parts.size() == 3) {
    if (is_get(req)) {
      auto found = co_await data_.async_get_dead_letter(id);
      if (found.ec) co_return unavailable(found.ec);
      if (!found.value) co_return not_found("dead letter");
      co_return json_response(200, ingest::to_api_json(*found.value));
    }
    if (req.method != "DELETE") co_return method_not_allowed();
    auto removed = co_await data_.async_remove_dead_letter(id);
    if (removed.ec) co_return unavailable(removed.ec);
    if (!removed.value) co_return not_found("dead letter");
    co_return no_content();
  }
  if (parts.size() == 4 && parts[3] == "retry") {
    if (req.method != "POST") co_return method_not_allowed();
    co_return co_await async_retry_dead_letter(req, id);
  }
  co_return not_found("path");
}

task<response> routes::async_retry_dead_letter(const request& req, std::string id) {
  json body;
  if (auto bad = parse_body(req, body, true)) co_return *bad;
  auto corrected = ingest::parse_retry_body(body);
  if (auto* bad = std::get_if<ingest::dead_letter_input_error>(&corrected)) {
    co_return json_error(422, "validation_error", bad->message, bad->field);
  }
  auto found = co_await data_.async_get_dead_letter(id);
  if (found.ec) co_return unavailable(found.ec);
  if (!found.value) co_return not_found("dead letter");
  const auto& letter = *found.value;
  const auto& payload = std::get<std::optional<std::string>>(corrected);

  // Without an id of its own the event gets the one its stream entry would have had, so a
  // retry repeated after a lost answer is a duplicate rather than a second event.
  const std::string entry_id =
      is_stream_id(letter.source_id) ? letter.source_id : ingest::api_entry_id();
  auto parsed =
      ingest::parse_event(payload.value_or(letter.payload), entry_id, settings_.max_payload);
  if (auto* bad = std::get_if<ingest::validation_error>(&parsed)) {
    co_return json_error(422, "invalid_event", "the payload is still invalid: " + bad->message,
                         bad->field.empty() ? "payload" : "payload." + bad->field);
  }
  auto published = co_await async_publish(std::get<ingest::event>(std::move(parsed)));
  if (published.status != 202) co_return published;
  // Published: the dead letter has served its purpose. Should the XDEL fail, a second
  // retry publishes the same event id again, which the duplicate check absorbs.
  auto removed = co_await data_.async_remove_dead_letter(id);
  if (removed.ec) co_return unavailable(removed.ec);
  co_return published;
}

}  // namespace dispatcher::admin
