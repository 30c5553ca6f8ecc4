// The admin API: what each path means. Requests arrive as plain admin::request values
// from the server; this file checks the bearer token, routes, validates input (errors name
// the field), and answers from Redis through the endpoint and history stores.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "dispatcher/admin/http_types.hpp"
#include "dispatcher/config/settings.hpp"
#include "dispatcher/history/store.hpp"
#include "dispatcher/ingest/dead_letters.hpp"
#include "dispatcher/ingest/event.hpp"
#include "dispatcher/redis/connection.hpp"
#include "dispatcher/replay/request.hpp"
#include "dispatcher/replay/requeuer.hpp"
#include "dispatcher/routing/endpoint_store.hpp"

namespace dispatcher::admin {

struct api_context {
  const config::settings& settings;
  redis::connection& conn;
  routing::endpoint_store& endpoints;
  history::store& history;
  /// Refreshed after an endpoint changes, before the answer, so an event published right
  /// after a successful create already matches here (other instances: next poll).
  routing::registry& registry;
  replay::requeuer& replays;
};

/// {"error":{"code":...,"message":...[,"field":...]}}
response json_error(int status, std::string_view code, std::string_view message,
                    std::string_view field = {});

class api {
 public:
  explicit api(api_context ctx)
      : ctx_(std::move(ctx)), dead_letters_(ctx_.conn, ctx_.settings.dead_letter_stream()) {}
  boost::asio::awaitable<response> async_handle(request req);

  /// The 401 a request to this (decoded) path gets with this Authorization header, or
  /// nothing when it may go on. Needs only the headers, so the server asks it before
  /// reading a body (CONTRACT section 6); async_handle asks it too.
  std::optional<response> authorize(std::string_view path, std::string_view authorization) const;

 private:
  boost::asio::awaitable<response> async_readiness();
  /// Writes the endpoint and refreshes this instance's registry before the answer.
  boost::asio::awaitable<std::error_code> async_save(const routing::endpoint& ep);
  boost::asio::awaitable<response> async_endpoints(const request& req,
                                                   const std::vector<std::string_view>& parts);
  boost::asio::awaitable<response> async_publish_event(const request& req);
  /// Publishes a validated event unless its id was accepted before: 202 {"id"}, with
  /// "duplicate": true for a repeat. Shared by POST /v1/events and the dead-letter retry.
  boost::asio::awaitable<response> async_publish(const ingest::event& ev);
  boost::asio::awaitable<response> async_dead_letters(const request& req,
                                                      const std::vector<std::string_view>& parts);
  boost::asio::awaitable<response> async_retry_dead_letter(const request& req,
                                                           const std::string& id);
  boost::asio::awaitable<response> async_deliveries(const request& req,
                                                    const std::vector<std::string_view>& parts);
  boost::asio::awaitable<response> async_retry_one(const std::string& id);
  /// Shared by the bulk retry and recover: 200 for a dry run, 202 once queued.
  boost::asio::awaitable<response> async_bulk_replay(const replay::bulk_request& bulk);

  api_context ctx_;
  ingest::dead_letter_store dead_letters_;
};

}  // namespace dispatcher::admin
