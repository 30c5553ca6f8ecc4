// The admin API as the server runs it: the routes (admin/routes.hpp, pure) asking the
// Redis store (admin/redis_store.hpp). This is the only place the two meet, and where a
// route's task becomes the Asio coroutine the Beast server awaits.
#pragma once

#include <optional>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "dispatcher/admin/http_types.hpp"
#include "dispatcher/admin/redis_store.hpp"
#include "dispatcher/admin/routes.hpp"

namespace dispatcher::admin {

class api {
 public:
  explicit api(redis_store_parts parts);

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
