// The commands a connection sends on connect (redis/connection.hpp: on_connect; the main
// connection loads the scripts with them): they run before any user command on every
// connect, a Redis restart's included, and a refusal among them leaves the connection up.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dispatcher/redis/connection.hpp"
#include "tests/support/redis_server.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// What GET `key` answers once the connection is up again, or "" after 5 s.
asio::awaitable<std::string> async_get_when_up(redis::connection& conn, std::string key) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    redis::command get{"GET", key};
    auto r = co_await conn.async_exec(std::move(get));
    if (!r.ec && !r.value.is_error()) co_return r.value.str;
    timer.expires_after(20ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return std::string();
}

TEST(RedisConnection, commands_on_connect_run_first_on_every_connect_and_a_refusal_is_not_fatal) {
  redis_server redis;
  asio::io_context io;
  redis::connection_options o;
  o.port = redis.port();
  o.min_backoff = 10ms;
  o.on_connect.push_back(redis::command{"INCR", "connects"});
  o.on_connect.push_back(redis::command{"NO-SUCH-COMMAND"});
  o.on_connect.push_back(redis::command{"INCR", "after_the_refusal"});
  auto conn = std::make_shared<redis::connection>(io.get_executor(), o);
  std::vector<std::string> seen;
  asio::co_spawn(io, conn->async_run(), asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        seen.push_back(co_await async_get_when_up(*conn, "connects"));
        seen.push_back(co_await async_get_when_up(*conn, "after_the_refusal"));
        // A restart without persistence: the keys are gone, and the commands run again.
        redis.kill_and_restart();
        seen.push_back(co_await async_get_when_up(*conn, "connects"));
        conn->stop();
      },
      asio::detached);
  io.run();
  EXPECT_EQ(seen, (std::vector<std::string>{"1", "1", "1"}));
}

}  // namespace
}  // namespace dispatcher::testing
