// The commands a connection sends on connect (redis/connection.hpp: on_connect; the main
// connection loads the scripts with them): they run before any user command on every
// connect, a Redis restart's included, and a refusal among them leaves the connection up.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
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

/// A connection to 127.0.0.1:port that connects again soon after a failure.
redis::connection_options quick_to_reconnect(std::uint16_t port) {
  redis::connection_options o;
  o.port = port;
  o.min_backoff = 10ms;
  return o;
}

TEST(RedisConnection, commands_on_connect_run_first_on_every_connect_and_a_refusal_is_not_fatal) {
  redis_server redis;
  asio::io_context io;
  auto o = quick_to_reconnect(redis.port());
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

/// A Redis stand-in for one thing real Redis does only while it replays its data after a
/// restart: its first connection answers the commands sent on connect with LOADING (and
/// then nothing), every later one answers +OK to them and "up" to a GET.
class loading_then_ready {
 public:
  loading_then_ready() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~loading_then_ready() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }

 private:
  // Waits up to 20 ms for bytes; "" when none came or the peer closed.
  std::string read_some(int fd) const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) return {};
    char buffer[4096];
    const auto n = ::read(fd, buffer, sizeof buffer);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string("\0", 1);
  }
  void reply(int fd, std::string_view text) const {
    if (::write(fd, text.data(), text.size()) < 0) return;
  }
  void serve() {
    std::vector<int> open;
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 5) > 0) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          open.push_back(fd);
          if (connections_++ == 0) {
            // The one command sent on connect, refused; whatever follows is never answered.
            if (!read_some(fd).empty() || !read_some(fd).empty()) {
              reply(fd, "-LOADING Redis is loading the dataset in memory\r\n");
            }
          }
        }
      }
      for (std::size_t i = 1; i < open.size(); ++i) {
        const auto got = read_some(open[i]);
        if (got.starts_with("*2"))
          reply(open[i], "$2\r\nup\r\n");  // GET key
        else if (!got.empty() && got[0] == '*')
          reply(open[i], "+OK\r\n");
      }
    }
    for (const int fd : open) ::close(fd);
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// LOADING is not a refusal to put up with: the commands sent on connect would be missing
// for the whole connection. The connection drops and connects again until they are taken.
TEST(RedisConnection, a_redis_still_loading_its_data_is_connected_to_again) {
  loading_then_ready redis;
  asio::io_context io;
  auto o = quick_to_reconnect(redis.port());
  // Longer than async_get_when_up waits: a GET sent on the loading connection, which is
  // never answered, is not rescued by its timeout dropping that connection.
  o.command_timeout = 10s;
  o.on_connect.push_back(redis::command{"PING"});
  auto conn = std::make_shared<redis::connection>(io.get_executor(), o);
  std::string got;
  asio::co_spawn(io, conn->async_run(), asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        got = co_await async_get_when_up(*conn, "k");
        conn->stop();
      },
      asio::detached);
  io.run();
  EXPECT_EQ(got, "up");
  EXPECT_EQ(redis.connections(), 2);
}

}  // namespace
}  // namespace dispatcher::testing
