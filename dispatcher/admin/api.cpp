// Wires the routes to the Redis store, and a route's task to the server's coroutine. What
// a request means is in routes.cpp; how Redis answers, in redis_store.cpp.
#include "dispatcher/admin/api.hpp"

#include "dispatcher/common/asio_task.hpp"
#include "dispatcher/common/time.hpp"

namespace dispatcher::admin {

api::api(redis_store_parts parts) : store_(parts), routes_(parts.settings, store_, unix_now_ms) {}

boost::asio::awaitable<response> api::async_handle(request req) {
  return async_await_task(routes_.async_handle(std::move(req)));
}

}  // namespace dispatcher::admin
