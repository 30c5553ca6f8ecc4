// The admin API as the server runs it: the routes (admin/routes.hpp, pure) asking the
// Redis store (admin/redis_store.hpp). This is the only place the two meet, and where a
// route's task becomes the Asio coroutine the Beast server awaits.
#pragma once

#include <optional>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "dispatcher/admin/http_types.hpp"
#include "dispatcher/admin/redis_store.hpp"
#include "dispatcher/admin/routes.hpp"

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
  /// Where the store's Redis coroutines run.
  boost::asio::any_io_executor executor;
};

class api {
 public:
  explicit api(api_context ctx);

  boost::asio::awaitable<response> async_handle(request req);

  /// See routes::authorize; the server asks it before reading a body.
  std::optional<response> authorize(std::string_view path, std::string_view authorization) const {
    return routes_.authorize(path, authorization);
  }

 private:
  redis_store store_;
  routes routes_;
};

}  // namespace dispatcher::admin
