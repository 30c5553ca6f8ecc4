// Every admin route as a function of the request and of what the store answers, with an
// in-memory store of our own interface (admin/store.hpp) and no server, no Redis, no
// Asio: the statuses, bodies and errors of CONTRACT section 6, which questions a route
// asks and in which order (none for an input it refuses), and a storage failure as a
// 503 on each path that asks. The integration tests hold the same routes to the real
// store and to schemas/openapi.yaml.
#include "dispatcher/admin/routes.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "dispatcher/admin/error_body.hpp"
#include "dispatcher/common/error.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/obs/metrics.hpp"

namespace dispatcher::admin {
namespace {

using json = nlohmann::json;

constexpr std::string_view token = "route-test-admin-token";
constexpr std::string_view uuid = "0b7c1f0e-6a0e-4d0a-9d5e-1f3a2b4c5d6e";
constexpr std::string_view delivery = "dlv_0123456789abcdef01234567";
constexpr std::int64_t now_ms = 1'750'000'000'000;

/// The store as plain data; `failing` makes a method answer with that error, `calls`
/// records what was asked, in order.
class fake_store final : public store {
 public:
  group_check group{group_check::state::present, {}};
  std::vector<routing::endpoint> endpoints;  // newest first
  std::map<std::string, json> deliveries, events, connections, consumers;
  json delivery_list = {{"data", json::array()}, {"next_cursor", nullptr}};
  std::map<std::string, std::string> requeue_outcomes;  // absent: "not_found"
  replay_counts bulk{5, 4};
  std::set<std::string> seen;
  std::vector<std::string> appended;
  std::vector<ingest::dead_letter> dead_letters;  // newest first
  std::optional<std::string> dead_letter_next;

  std::map<std::string, std::error_code> failing;
  std::vector<std::string> calls;
  history::delivery_filter last_filter;
  bool last_dry_run = false;
  bool throws = false;

  task<group_check> async_check_group() override {
    ask("check_group");
    co_return group;
  }
  task<stored<std::vector<routing::endpoint>>> async_list_endpoints() override {
    co_return {ask("list_endpoints"), endpoints};
  }
  task<stored<std::optional<routing::endpoint>>> async_get_endpoint(std::string id) override {
    stored<std::optional<routing::endpoint>> out{ask("get_endpoint"), std::nullopt};
    if (auto* ep = find_endpoint(id)) out.value = *ep;
    co_return out;
  }
  task<std::error_code> async_save_endpoint(routing::endpoint ep) override {
    if (auto ec = ask("save_endpoint")) co_return ec;
    if (auto* old = find_endpoint(ep.id)) {
      *old = std::move(ep);
    } else {
      endpoints.insert(endpoints.begin(), std::move(ep));
    }
    co_return std::error_code{};
  }
  task<std::error_code> async_remove_endpoint(std::string id) override {
    if (auto ec = ask("remove_endpoint")) co_return ec;
    std::erase_if(endpoints, [&](const routing::endpoint& ep) { return ep.id == id; });
    co_return std::error_code{};
  }
  task<stored<json>> async_list_deliveries(history::delivery_filter f) override {
    last_filter = std::move(f);
    co_return {ask("list_deliveries"), delivery_list};
  }
  task<record> async_get_delivery(std::string id) override {
    co_return lookup(ask("get_delivery"), deliveries, id);
  }
  task<record> async_get_event(std::string id) override {
    co_return lookup(ask("get_event"), events, id);
  }
  task<record> async_get_connection(std::string id) override {
    co_return lookup(ask("get_connection"), connections, id);
  }
  task<stored<json>> async_consumer_connections(std::string consumerid,
                                                std::optional<std::string> status) override {
    calls.push_back("status=" + status.value_or("*"));
    co_return {ask("consumer_connections"), consumers[consumerid]};
  }
  task<stored<std::string>> async_requeue_one(std::string id) override {
    const auto it = requeue_outcomes.find(id);
    co_return {ask("requeue_one"), it == requeue_outcomes.end() ? "not_found" : it->second};
  }
  task<stored<replay_counts>> async_requeue_matching(history::delivery_filter f,
                                                     bool dry_run) override {
    last_filter = std::move(f);
    last_dry_run = dry_run;
    co_return {ask("requeue_matching"), bulk};
  }
  task<stored<bool>> async_event_seen(std::string event_id) override {
    co_return {ask("event_seen"), seen.contains(event_id)};
  }
  task<std::error_code> async_append_event(std::string body) override {
    if (auto ec = ask("append_event")) co_return ec;
    appended.push_back(std::move(body));
    co_return std::error_code{};
  }
  task<stored<dead_letter_page>> async_list_dead_letters(ingest::dead_letter_query q) override {
    dead_letter_page page;
    for (const auto& letter : dead_letters) {
      if (page.items.size() < q.limit) page.items.push_back(letter);
    }
    page.next = dead_letter_next;
    co_return {ask("list_dead_letters"), std::move(page)};
  }
  task<stored<std::optional<ingest::dead_letter>>> async_get_dead_letter(std::string id) override {
    stored<std::optional<ingest::dead_letter>> out{ask("get_dead_letter"), std::nullopt};
    for (const auto& letter : dead_letters) {
      if (letter.id == id) out.value = letter;
    }
    co_return out;
  }
  task<stored<bool>> async_remove_dead_letter(std::string id) override {
    if (auto ec = ask("remove_dead_letter")) co_return {ec, false};
    co_return {{}, std::erase_if(dead_letters, [&](const auto& l) { return l.id == id; }) > 0};
  }

 private:
  std::error_code ask(const std::string& what) {
    calls.push_back(what);
    if (throws) throw std::runtime_error("store exploded");
    const auto it = failing.find(what);
    return it == failing.end() ? std::error_code{} : it->second;
  }
  routing::endpoint* find_endpoint(const std::string& id) {
    for (auto& ep : endpoints) {
      if (ep.id == id) return &ep;
    }
    return nullptr;
  }
  static record lookup(std::error_code ec, const std::map<std::string, json>& in,
                       const std::string& id) {
    if (ec) return {ec, std::nullopt};
    const auto it = in.find(id);
    return {{}, it == in.end() ? std::nullopt : std::optional<json>(it->second)};
  }
};

class admin_routes : public ::testing::Test {
 protected:
  admin_routes() {
    settings_.admin_token = std::string(token);
    saved_scheduler_run_ = obs::global_metrics().last_scheduler_run_unix.get();
    obs::global_metrics().last_scheduler_run_unix.set(now_ms / 1000);
  }
  ~admin_routes() override {
    obs::global_metrics().last_scheduler_run_unix.set(saved_scheduler_run_);
  }

  /// The route's answer; the fake never suspends, so the task is done when start returns.
  response call(request req) {
    std::optional<response> out;
    std::exception_ptr error;
    start(routes_.async_handle(std::move(req)), [&](std::exception_ptr e, response r) {
      error = e;
      out = std::move(r);
    });
    if (error) std::rethrow_exception(error);
    EXPECT_TRUE(out) << "the route did not finish";
    return out.value_or(response{});
  }

  response call(std::string method, std::string path, std::string body = {},
                std::map<std::string, std::string> query = {}) {
    request req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.body = std::move(body);
    req.query = std::move(query);
    req.authorization = "Bearer " + std::string(token);
    return call(std::move(req));
  }

  routing::endpoint& add_endpoint(std::string id, bool enabled = true) {
    routing::endpoint ep;
    ep.id = std::move(id);
    ep.url = "https://example.com/hook";
    ep.secret = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=";
    ep.enabled = enabled;
    if (!enabled) ep.disabled_reason = "too many failures";
    store_.endpoints.push_back(std::move(ep));
    return store_.endpoints.back();
  }

  config::settings settings_;
  fake_store store_;
  std::int64_t now_ = now_ms;
  routes routes_{settings_, store_, [this] { return now_; }};
  std::int64_t saved_scheduler_run_ = 0;
};

json body_of(const response& r) {
  return json::parse(r.body);
}

/// The error document's code and field (field empty when absent).
std::pair<std::string, std::string> error_of(const response& r) {
  const auto b = body_of(r);
  return {b["error"]["code"], b["error"].value("field", "")};
}

const std::error_code down = errc::redis_not_connected;

std::string unavailable_body() {
  return error_body("unavailable", "storage is unavailable: " + down.message());
}

std::string event_payload(std::string_view id = "") {
  std::string out = R"({"event":"account.connection.created","accountid":")" + std::string(uuid) +
                    R"(","consumerid":")" + std::string(uuid) + R"(","connectionid":")" +
                    std::string(uuid) + R"(","status":"active","created":1700000000)";
  if (!id.empty()) out += R"(,"id":")" + std::string(id) + R"(")";
  return out + "}";
}

// --- the error document, one shape for the routes and the server ---

TEST(admin_error_body, has_code_and_message_and_the_field_only_when_given) {
  EXPECT_EQ(error_body("internal", "internal error"),
            R"({"error":{"code":"internal","message":"internal error"}})");
  EXPECT_EQ(json::parse(error_body("invalid_parameter", "bad", "limit"))["error"]["field"],
            "limit");
  const auto r = json_error(422, "validation_error", "m", "f");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, error_body("validation_error", "m", "f"));
}

TEST(admin_error_body, text_that_is_not_utf8_is_replaced_rather_than_thrown_on) {
  std::string body;
  EXPECT_NO_THROW(body = error_body("invalid_parameter", "unknown parameter '\xff'", "\xff"));
  EXPECT_NO_THROW(json::parse(body));
}

// --- authorisation, health, documents ---

TEST_F(admin_routes, v1_needs_the_bearer_token_and_asks_the_store_nothing_without_it) {
  request req;
  req.method = "GET";
  req.path = "/v1/endpoints";
  auto r = call(req);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, error_body("unauthorized", "a valid bearer token is required"));
  req.authorization = "Bearer wrong-token-of-some-length";
  EXPECT_EQ(call(req).status, 401);
  req.authorization = "bEaReR   " + std::string(token);
  EXPECT_EQ(call(req).status, 200);
  EXPECT_EQ(store_.calls, std::vector<std::string>{"list_endpoints"});
}

TEST_F(admin_routes, metrics_needs_its_own_token_only_when_one_is_set) {
  request req;
  req.method = "GET";
  req.path = "/metrics";
  auto open = call(req);
  EXPECT_EQ(open.status, 200);
  EXPECT_EQ(open.content_type, "text/plain; version=0.0.4");
  EXPECT_NE(open.body.find("dispatcher_scheduler_last_run_timestamp_seconds"), std::string::npos);
  settings_.metrics_token = "metrics-token-0123456789";
  EXPECT_EQ(call(req).status, 401);
  EXPECT_FALSE(routes_.authorize("/metrics", "Bearer metrics-token-0123456789"));
  EXPECT_FALSE(routes_.authorize("/healthz", ""));
}

TEST_F(admin_routes, healthz_openapi_and_unknown_paths) {
  auto health = call("GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  auto doc = call("GET", "/openapi.yaml");
  EXPECT_EQ(doc.status, 200);
  EXPECT_EQ(doc.content_type, "application/yaml");
  EXPECT_TRUE(doc.body.starts_with("openapi:")) << doc.body.substr(0, 40);
  EXPECT_EQ(call("POST", "/openapi.yaml").status, 405);
  EXPECT_EQ(call("GET", "/ui").content_type, "text/html; charset=utf-8");
  for (const auto* path : {"/", "/v1", "/v1/nope", "/nope", "/v1/endpoints/ep_a/nope"}) {
    auto r = call("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(error_of(r).first, "not_found") << path;
  }
}

TEST_F(admin_routes, readyz_names_what_is_not_ready) {
  const auto reason = [&] {
    auto r = call("GET", "/readyz");
    EXPECT_EQ(r.status, body_of(r)["status"] == "ready" ? 200 : 503);
    return body_of(r).value("reason", std::string("ready"));
  };
  EXPECT_EQ(reason(), "ready");
  store_.group = {group_check::state::not_connected, {}};
  EXPECT_EQ(reason(), "redis is not connected");
  store_.group = {group_check::state::unreadable, "NOGROUP no such key"};
  EXPECT_EQ(reason(), "consumer group check failed: NOGROUP no such key");
  store_.group = {group_check::state::missing, {}};
  EXPECT_EQ(reason(), "consumer group dispatcher is missing");
  store_.group = {group_check::state::present, {}};
  // The scheduler stamps every pass; 10 s without one (at the default poll) is a dead loop.
  now_ = now_ms + 10'000;
  EXPECT_EQ(reason(), "ready");
  now_ = now_ms + 11'000;
  EXPECT_EQ(reason(), "the delivery scheduler has not run for 11 s");
}

// --- endpoints ---

TEST_F(admin_routes, create_saves_the_endpoint_and_answers_it_with_its_secret) {
  auto r = call("POST", "/v1/endpoints", R"({"url":"https://example.com/hook"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const auto b = body_of(r);
  ASSERT_EQ(store_.endpoints.size(), 1u);
  EXPECT_EQ(b["id"], store_.endpoints[0].id);
  EXPECT_EQ(b["secret"], store_.endpoints[0].secret);
  EXPECT_EQ(b["created_at"], format_rfc3339(now_ms));
  EXPECT_EQ(store_.calls, std::vector<std::string>{"save_endpoint"});
}

TEST_F(admin_routes, create_refuses_bad_bodies_before_asking_the_store) {
  auto not_json = call("POST", "/v1/endpoints", "{");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(error_of(not_json).first, "invalid_json");
  EXPECT_EQ(call("POST", "/v1/endpoints", "[]").status, 400);
  EXPECT_EQ(call("POST", "/v1/endpoints", "").status, 400);
  auto invalid = call("POST", "/v1/endpoints", R"({"url":"ftp://example.com"})");
  EXPECT_EQ(invalid.status, 422);
  EXPECT_EQ(error_of(invalid), std::make_pair(std::string("validation_error"), std::string("url")));
  EXPECT_TRUE(store_.calls.empty());
  store_.failing["save_endpoint"] = down;
  auto failed = call("POST", "/v1/endpoints", R"({"url":"https://example.com/hook"})");
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(failed.body, unavailable_body());
}

TEST_F(admin_routes, list_pages_by_cursor_and_checks_its_parameters_first) {
  add_endpoint("ep_c");
  add_endpoint("ep_b");
  add_endpoint("ep_a");
  auto first = body_of(call("GET", "/v1/endpoints", "", {{"limit", "2"}}));
  ASSERT_EQ(first["data"].size(), 2u);
  EXPECT_EQ(first["data"][1]["id"], "ep_b");
  EXPECT_FALSE(first["data"][0].contains("secret"));
  EXPECT_EQ(first["next_cursor"], "ep_b");
  auto rest = body_of(call("GET", "/v1/endpoints", "", {{"limit", "2"}, {"cursor", "ep_b"}}));
  ASSERT_EQ(rest["data"].size(), 1u);
  EXPECT_EQ(rest["data"][0]["id"], "ep_a");
  EXPECT_EQ(rest["next_cursor"], nullptr);

  store_.calls.clear();
  for (const auto* limit : {"0", "501", "2x", ""}) {
    auto r = call("GET", "/v1/endpoints", "", {{"limit", limit}});
    EXPECT_EQ(r.status, 400) << limit;
    EXPECT_EQ(error_of(r).second, "limit") << limit;
  }
  EXPECT_EQ(error_of(call("GET", "/v1/endpoints", "", {{"sort", "x"}})).second, "sort");
  EXPECT_TRUE(store_.calls.empty());
  EXPECT_EQ(call("DELETE", "/v1/endpoints").status, 405);
  store_.failing["list_endpoints"] = down;
  EXPECT_EQ(call("GET", "/v1/endpoints").body, unavailable_body());
}

TEST_F(admin_routes, an_endpoint_id_of_the_wrong_shape_is_404_without_a_lookup) {
  for (const auto* path : {"/v1/endpoints/ep_", "/v1/endpoints/ep_A", "/v1/endpoints/x:ep_a",
                           "/v1/endpoints/ep_a:b/recover"}) {
    auto r = call("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body, error_body("not_found", "endpoint not found")) << path;
  }
  EXPECT_TRUE(store_.calls.empty());
  EXPECT_EQ(call("GET", "/v1/endpoints/ep_missing").status, 404);
  EXPECT_EQ(store_.calls, std::vector<std::string>{"get_endpoint"});
}

TEST_F(admin_routes, get_patch_and_delete_one_endpoint) {
  add_endpoint("ep_a", false);
  auto got = call("GET", "/v1/endpoints/ep_a");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(body_of(got)["enabled"], false);
  EXPECT_FALSE(body_of(got).contains("secret"));

  auto bad = call("PATCH", "/v1/endpoints/ep_a", R"({"enabled":"yes"})");
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(error_of(bad).second, "enabled");
  // Enabling it again clears why it was disabled.
  auto patched = call("PATCH", "/v1/endpoints/ep_a", R"({"enabled":true})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_TRUE(store_.endpoints[0].enabled);
  EXPECT_EQ(store_.endpoints[0].disabled_reason, "");

  EXPECT_EQ(call("PUT", "/v1/endpoints/ep_a").status, 405);
  store_.failing["remove_endpoint"] = down;
  EXPECT_EQ(call("DELETE", "/v1/endpoints/ep_a").status, 503);
  store_.failing.clear();
  auto removed = call("DELETE", "/v1/endpoints/ep_a");
  EXPECT_EQ(removed.status, 204);
  EXPECT_EQ(removed.content_type, "");
  EXPECT_EQ(removed.body, "");
  EXPECT_TRUE(store_.endpoints.empty());
  store_.failing["get_endpoint"] = down;
  EXPECT_EQ(call("GET", "/v1/endpoints/ep_a").body, unavailable_body());
}

TEST_F(admin_routes, recover_replays_the_endpoints_failed_deliveries_once_it_is_enabled) {
  add_endpoint("ep_a", false);
  auto refused = call("POST", "/v1/endpoints/ep_a/recover");
  EXPECT_EQ(refused.status, 409);
  EXPECT_EQ(error_of(refused).first, "conflict");
  EXPECT_EQ(store_.calls, std::vector<std::string>{"get_endpoint"});

  store_.endpoints[0].enabled = true;
  auto queued = call("POST", "/v1/endpoints/ep_a/recover");
  EXPECT_EQ(queued.status, 202);
  EXPECT_EQ(queued.body, R"({"matched":5,"queued":4})");
  EXPECT_EQ(store_.last_filter.endpoint_id, "ep_a");
  EXPECT_EQ(store_.last_filter.status, history::delivery_status::failed);
  EXPECT_FALSE(store_.last_dry_run);

  auto counted = call("POST", "/v1/endpoints/ep_a/recover", R"({"dry_run":true})");
  EXPECT_EQ(counted.status, 200);
  EXPECT_TRUE(store_.last_dry_run);
  EXPECT_EQ(call("POST", "/v1/endpoints/ep_a/recover", R"({"since":"yesterday"})").status, 422);
  EXPECT_EQ(call("GET", "/v1/endpoints/ep_a/recover").status, 405);
  store_.failing["requeue_matching"] = down;
  EXPECT_EQ(call("POST", "/v1/endpoints/ep_a/recover").status, 503);
}

TEST_F(admin_routes, rotate_keeps_the_old_secret_signing_through_the_grace_period) {
  const auto old_secret = add_endpoint("ep_a").secret;
  auto r = call("POST", "/v1/endpoints/ep_a/secret/rotate");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["grace_until"], format_rfc3339(now_ms + 24 * 3600 * 1000));
  EXPECT_NE(body_of(r)["secret"], old_secret);
  EXPECT_EQ(store_.endpoints[0].secret, body_of(r)["secret"]);
  ASSERT_EQ(store_.endpoints[0].retired_secrets.size(), 1u);
  EXPECT_EQ(store_.endpoints[0].retired_secrets[0].secret, old_secret);

  auto longer = call("POST", "/v1/endpoints/ep_a/secret/rotate", R"({"grace":"48h"})");
  EXPECT_EQ(body_of(longer)["grace_until"], format_rfc3339(now_ms + 48 * 3600 * 1000));
  EXPECT_EQ(error_of(call("POST", "/v1/endpoints/ep_a/secret/rotate", R"({"grace":"31d"})")),
            std::make_pair(std::string("validation_error"), std::string("grace")));
  EXPECT_EQ(error_of(call("POST", "/v1/endpoints/ep_a/secret/rotate", R"({"graze":"1h"})")).second,
            "graze");
  EXPECT_EQ(call("GET", "/v1/endpoints/ep_a/secret/rotate").status, 405);
}

// --- events ---

TEST_F(admin_routes, publish_appends_a_new_event_and_answers_its_id) {
  auto r = call("POST", "/v1/events", event_payload("key-1"));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, R"({"id":"key-1"})");
  EXPECT_EQ(store_.appended, std::vector<std::string>{event_payload("key-1")});
  EXPECT_EQ(store_.calls, (std::vector<std::string>{"event_seen", "append_event"}));

  // Without an id of its own an event gets one, which the answer carries.
  auto generated = body_of(call("POST", "/v1/events", event_payload()));
  EXPECT_TRUE(generated["id"].get<std::string>().starts_with("evt_api_")) << generated;
}

TEST_F(admin_routes, an_event_id_accepted_before_is_a_duplicate_and_not_appended) {
  store_.seen.insert("key-1");
  auto r = call("POST", "/v1/events", event_payload("key-1"));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, R"({"duplicate":true,"id":"key-1"})");
  EXPECT_TRUE(store_.appended.empty());
}

TEST_F(admin_routes, publish_refuses_invalid_and_oversized_events_and_reports_storage) {
  auto invalid = call("POST", "/v1/events", R"({"event":"x"})");
  EXPECT_EQ(invalid.status, 422);
  EXPECT_EQ(error_of(invalid).first, "invalid_event");
  settings_.max_payload = 64;
  EXPECT_EQ(call("POST", "/v1/events", event_payload("key-1")).status, 413);
  EXPECT_TRUE(store_.calls.empty());
  settings_.max_payload = 256 * 1024;
  store_.failing["event_seen"] = down;
  EXPECT_EQ(call("POST", "/v1/events", event_payload("key-1")).body, unavailable_body());
  store_.failing = {{"append_event", down}};
  EXPECT_EQ(call("POST", "/v1/events", event_payload("key-1")).status, 503);
  EXPECT_EQ(call("GET", "/v1/events").status, 405);
}

TEST_F(admin_routes, get_event_checks_the_id_then_answers_the_record) {
  store_.events["key-1"] = {{"id", "key-1"}, {"deliveries", json::array()}};
  auto r = call("GET", "/v1/events/key-1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), store_.events["key-1"]);
  EXPECT_EQ(call("GET", "/v1/events/other").body, error_body("not_found", "event not found"));
  store_.calls.clear();
  EXPECT_EQ(call("GET", "/v1/events/a%20b").status, 404);
  EXPECT_EQ(call("GET", "/v1/events/" + std::string(129, 'a')).status, 404);
  EXPECT_TRUE(store_.calls.empty());
  EXPECT_EQ(call("DELETE", "/v1/events/key-1").status, 405);
  store_.failing["get_event"] = down;
  EXPECT_EQ(call("GET", "/v1/events/key-1").status, 503);
}

// --- deliveries ---

TEST_F(admin_routes, list_deliveries_passes_the_parsed_filter_and_refuses_unknown_ones) {
  store_.delivery_list = {{"data", json::array({{{"id", delivery}}})}, {"next_cursor", nullptr}};
  auto r = call("GET", "/v1/deliveries", "", {{"status", "failed"}, {"endpoint_id", "ep_a"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), store_.delivery_list);
  EXPECT_EQ(store_.last_filter.status, history::delivery_status::failed);
  EXPECT_EQ(store_.last_filter.endpoint_id, "ep_a");
  store_.calls.clear();
  auto bad = call("GET", "/v1/deliveries", "", {{"status", "lost"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(error_of(bad), std::make_pair(std::string("invalid_parameter"), std::string("status")));
  EXPECT_TRUE(store_.calls.empty());
  EXPECT_EQ(call("POST", "/v1/deliveries").status, 405);
  store_.failing["list_deliveries"] = down;
  EXPECT_EQ(call("GET", "/v1/deliveries").status, 503);
}

TEST_F(admin_routes, get_delivery_checks_the_id_shape_first) {
  store_.deliveries[std::string(delivery)] = {{"id", delivery}};
  EXPECT_EQ(call("GET", "/v1/deliveries/" + std::string(delivery)).status, 200);
  store_.calls.clear();
  for (const auto* id :
       {"dlv_0123", "dlv_0123456789ABCDEF01234567", "dlv_0123456789abcdef0123456g"}) {
    auto r = call("GET", "/v1/deliveries/" + std::string(id));
    EXPECT_EQ(r.body, error_body("not_found", "delivery not found")) << id;
  }
  EXPECT_TRUE(store_.calls.empty());
  EXPECT_EQ(call("GET", "/v1/deliveries/dlv_0123456789abcdef00000000").status, 404);
  // Its attempts are part of it, not a path of their own.
  EXPECT_EQ(call("GET", "/v1/deliveries/" + std::string(delivery) + "/attempts").status, 404);
}

TEST_F(admin_routes, retry_one_answers_the_requeued_delivery_or_why_not) {
  const std::string path = "/v1/deliveries/" + std::string(delivery) + "/retry";
  store_.deliveries[std::string(delivery)] = {{"id", delivery}, {"status", "pending"}};
  store_.requeue_outcomes[std::string(delivery)] = "queued";
  auto r = call("POST", path);
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(body_of(r)["status"], "pending");
  EXPECT_EQ(store_.calls, (std::vector<std::string>{"requeue_one", "get_delivery"}));

  const std::map<std::string, std::string> why = {
      {"in_flight", "cannot retry: the delivery is being attempted right now"},
      {"endpoint_disabled", "cannot retry: its endpoint is disabled; enable it first"},
      {"endpoint_deleted", "cannot retry: its endpoint was deleted"},
      {"event_expired", "cannot retry: its event is past the retention period"},
      {"retrying", "cannot retry: the delivery is already queued (status retrying)"}};
  for (const auto& [outcome, message] : why) {
    store_.requeue_outcomes[std::string(delivery)] = outcome;
    auto refused = call("POST", path);
    EXPECT_EQ(refused.status, 409) << outcome;
    EXPECT_EQ(refused.body, error_body("conflict", message)) << outcome;
  }
  store_.requeue_outcomes.clear();
  EXPECT_EQ(call("POST", path).body, error_body("not_found", "delivery not found"));
  EXPECT_EQ(call("GET", path).status, 405);
  store_.calls.clear();
  EXPECT_EQ(call("POST", "/v1/deliveries/dlv_x/retry").status, 404);
  EXPECT_TRUE(store_.calls.empty());
  store_.failing["requeue_one"] = down;
  EXPECT_EQ(call("POST", path).status, 503);
}

TEST_F(admin_routes, bulk_retry_queues_or_counts_the_matching_deliveries) {
  auto queued = call("POST", "/v1/deliveries/retry", R"({"endpoint_id":"ep_a"})");
  EXPECT_EQ(queued.status, 202);
  EXPECT_EQ(queued.body, R"({"matched":5,"queued":4})");
  EXPECT_EQ(store_.last_filter.endpoint_id, "ep_a");
  EXPECT_EQ(store_.last_filter.status, history::delivery_status::failed);
  auto counted = call("POST", "/v1/deliveries/retry", R"({"status":"succeeded","dry_run":true})");
  EXPECT_EQ(counted.status, 200);
  EXPECT_TRUE(store_.last_dry_run);
  EXPECT_EQ(store_.last_filter.status, history::delivery_status::succeeded);
  store_.calls.clear();
  EXPECT_EQ(call("POST", "/v1/deliveries/retry", "").status, 400);
  EXPECT_EQ(error_of(call("POST", "/v1/deliveries/retry", R"({"status":"pending"})")).second,
            "status");
  EXPECT_TRUE(store_.calls.empty());
}

// --- dead letters ---

ingest::dead_letter letter(std::string id, std::string payload, std::string source_id = {}) {
  return {std::move(id), std::move(payload), "field 'event' is required", std::move(source_id)};
}

TEST_F(admin_routes, dead_letters_list_renders_the_page_and_its_cursor) {
  store_.dead_letters = {letter("1700000000002-0", "{}"), letter("1700000000001-0", "x")};
  store_.dead_letter_next = "1700000000001-0";
  auto r = body_of(call("GET", "/v1/dead-letters", "", {{"limit", "2"}}));
  ASSERT_EQ(r["data"].size(), 2u);
  EXPECT_EQ(r["data"][0], ingest::to_api_json(store_.dead_letters[0]));
  EXPECT_EQ(r["next_cursor"], "1700000000001-0");
  store_.dead_letter_next.reset();
  EXPECT_EQ(body_of(call("GET", "/v1/dead-letters"))["next_cursor"], nullptr);
  store_.calls.clear();
  EXPECT_EQ(error_of(call("GET", "/v1/dead-letters", "", {{"limit", "0"}})).second, "limit");
  EXPECT_TRUE(store_.calls.empty());
  EXPECT_EQ(call("POST", "/v1/dead-letters").status, 405);
  store_.failing["list_dead_letters"] = down;
  EXPECT_EQ(call("GET", "/v1/dead-letters").status, 503);
}

TEST_F(admin_routes, one_dead_letter_is_read_and_deleted_by_its_stream_id_only) {
  store_.dead_letters = {letter("1700000000001-0", "x")};
  EXPECT_EQ(call("GET", "/v1/dead-letters/1700000000001-0").status, 200);
  store_.calls.clear();
  for (const auto* id : {"1-x", "lifecycle:events", "*"}) {
    EXPECT_EQ(call("DELETE", "/v1/dead-letters/" + std::string(id)).body,
              error_body("not_found", "dead letter not found"))
        << id;
  }
  EXPECT_TRUE(store_.calls.empty());
  EXPECT_EQ(call("PATCH", "/v1/dead-letters/1700000000001-0").status, 405);
  auto removed = call("DELETE", "/v1/dead-letters/1700000000001-0");
  EXPECT_EQ(removed.status, 204);
  EXPECT_EQ(removed.content_type, "");
  EXPECT_EQ(call("DELETE", "/v1/dead-letters/1700000000001-0").status, 404);
  EXPECT_EQ(call("GET", "/v1/dead-letters/1700000000001-0").status, 404);
}

TEST_F(admin_routes, retrying_a_dead_letter_publishes_it_under_its_entry_id_then_removes_it) {
  store_.dead_letters = {letter("1700000000001-0", event_payload(), "1699999999999-0")};
  auto r = call("POST", "/v1/dead-letters/1700000000001-0/retry");
  ASSERT_EQ(r.status, 202) << r.body;
  // The id its stream entry would have had: a repeated retry is a duplicate.
  EXPECT_EQ(body_of(r)["id"], "evt_1699999999999-0");
  EXPECT_EQ(store_.appended.size(), 1u);
  EXPECT_TRUE(store_.dead_letters.empty());
  EXPECT_EQ(store_.calls, (std::vector<std::string>{"get_dead_letter", "event_seen", "append_event",
                                                    "remove_dead_letter"}));
}

TEST_F(admin_routes, a_dead_letter_retried_twice_is_a_duplicate_and_still_removed) {
  store_.dead_letters = {letter("1700000000001-0", event_payload(), "1699999999999-0")};
  store_.seen.insert("evt_1699999999999-0");
  auto r = call("POST", "/v1/dead-letters/1700000000001-0/retry");
  EXPECT_EQ(r.body, R"({"duplicate":true,"id":"evt_1699999999999-0"})");
  EXPECT_TRUE(store_.appended.empty());
  EXPECT_TRUE(store_.dead_letters.empty());
}

TEST_F(admin_routes, a_dead_letter_stays_when_its_payload_is_still_invalid_or_publishing_fails) {
  store_.dead_letters = {letter("1700000000001-0", R"({"event":"x"})")};
  auto invalid = call("POST", "/v1/dead-letters/1700000000001-0/retry");
  EXPECT_EQ(invalid.status, 422);
  EXPECT_EQ(error_of(invalid).first, "invalid_event");
  EXPECT_TRUE(error_of(invalid).second.starts_with("payload")) << invalid.body;
  EXPECT_EQ(
      error_of(call("POST", "/v1/dead-letters/1700000000001-0/retry", R"({"payload":1})")).second,
      "payload");

  // A corrected payload replaces the stored one.
  store_.failing["event_seen"] = down;
  const std::string corrected = R"({"payload":)" + event_payload("fixed-1") + "}";
  EXPECT_EQ(call("POST", "/v1/dead-letters/1700000000001-0/retry", corrected).status, 503);
  EXPECT_EQ(store_.dead_letters.size(), 1u);
  store_.failing.clear();
  auto fixed = call("POST", "/v1/dead-letters/1700000000001-0/retry", corrected);
  EXPECT_EQ(fixed.body, R"({"id":"fixed-1"})");
  EXPECT_TRUE(store_.dead_letters.empty());
  EXPECT_EQ(call("POST", "/v1/dead-letters/1700000000001-0/retry").status, 404);
}

// --- connections ---

TEST_F(admin_routes, a_connection_and_a_consumers_connections) {
  store_.connections[std::string(uuid)] = {{"connectionid", uuid}};
  EXPECT_EQ(call("GET", "/v1/connections/" + std::string(uuid)).status, 200);
  EXPECT_EQ(call("GET", "/v1/connections/not-a-uuid").body,
            error_body("not_found", "connection not found"));
  EXPECT_EQ(call("POST", "/v1/connections/" + std::string(uuid)).status, 405);

  const std::string path = "/v1/consumers/" + std::string(uuid) + "/connections";
  store_.consumers[std::string(uuid)] = {{"data", json::array()}, {"next_cursor", nullptr}};
  store_.calls.clear();
  EXPECT_EQ(call("GET", path, "", {{"status", "inactive"}}).status, 200);
  EXPECT_EQ(store_.calls, (std::vector<std::string>{"status=inactive", "consumer_connections"}));
  store_.calls.clear();
  EXPECT_EQ(error_of(call("GET", path, "", {{"status", "gone"}})).second, "status");
  EXPECT_EQ(error_of(call("GET", path, "", {{"limit", "1"}})).second, "limit");
  EXPECT_EQ(call("GET", "/v1/consumers/nope/connections").body,
            error_body("not_found", "consumer not found"));
  EXPECT_TRUE(store_.calls.empty());
  store_.failing["consumer_connections"] = down;
  EXPECT_EQ(call("GET", path).status, 503);
}

TEST_F(admin_routes, a_store_that_throws_fails_the_request_for_the_server_to_answer_500) {
  store_.throws = true;
  EXPECT_THROW(call("GET", "/v1/endpoints"), std::runtime_error);
}

}  // namespace
}  // namespace dispatcher::admin
