// The admin API: what each path means (CONTRACT section 6, schemas/openapi.yaml). A
// request arrives as a plain admin::request; the routes check the bearer token, route,
// validate the input (errors name the field), ask the store (admin/store.hpp) and render
// the answer. Nothing here does I/O or knows Asio: the store is an interface, and the
// routes are task coroutines, so every route is unit-tested with an in-memory store and
// no server (Beast's handle_request, apart from its session loop). admin/api.hpp joins
// them to the Redis store and the Beast server.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "dispatcher/admin/http_types.hpp"
#include "dispatcher/admin/store.hpp"
#include "dispatcher/common/task.hpp"
#include "dispatcher/config/settings.hpp"
#include "dispatcher/ingest/event.hpp"
#include "dispatcher/replay/request.hpp"

namespace dispatcher::admin {

class routes {
 public:
  /// `now_ms`: the clock, Unix milliseconds (new endpoints' times, secret grace periods,
  /// the scheduler's staleness); a test sets its own.
  routes(const config::settings& settings, store& data, std::function<std::int64_t()> now_ms);

  /// The answer to any request the server passed on.
  task<response> async_handle(request req);

  /// The 401 a request to this (decoded) path gets with this Authorization header, or
  /// nothing when it may go on. Needs only the headers, so the server asks it before
  /// reading a body (CONTRACT section 6); async_handle asks it too.
  std::optional<response> authorize(std::string_view path, std::string_view authorization) const;

 private:
  using parts_t = std::vector<std::string_view>;
  task<response> async_readiness();
  task<response> async_endpoints(const request& req, parts_t parts);
  task<response> async_publish_event(const request& req);
  /// Publishes a validated event unless its id was accepted before: 202 {"id"}, with
  /// "duplicate": true for a repeat. Shared by POST /v1/events and the dead-letter retry.
  task<response> async_publish(ingest::event ev);
  task<response> async_dead_letters(const request& req, parts_t parts);
  task<response> async_retry_dead_letter(const request& req, std::string id);
  task<response> async_deliveries(const request& req, parts_t parts);
  task<response> async_retry_one(std::string id);
  /// Shared by the bulk retry and recover: 200 for a dry run, 202 once queued.
  task<response> async_bulk_replay(replay::bulk_request bulk);

  const config::settings& settings_;
  store& data_;
  std::function<std::int64_t()> now_ms_;
};

}  // namespace dispatcher::admin
