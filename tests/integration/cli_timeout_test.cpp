// The commands that talk to the admin API or Redis give up (CONTRACT §7): the real binary
// against peers that accept a connection and never answer, and against a listener whose
// full backlog leaves the connect itself pending. Each must end with exit code 1, within a
// few seconds of its --timeout, with a sentence naming what did not answer. The peers
// close everything after a watchdog period, so a command that ignores its timeout fails
// these tests instead of hanging them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "dispatcher/redis/connection.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// Long enough that no passing run gets near it, short enough that a regression shows as a
// failure within the test's time rather than as a hung suite.
constexpr auto watchdog = 20s;
// --timeout 1s plus process start-up on a loaded CI machine.
constexpr auto prompt = 6s;

// A loopback socket bound to a free port, listening with this backlog.
int listening_socket(int backlog, std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(fd, backlog) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len)) {
    throw std::runtime_error("cannot listen on loopback");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

/// Accepts every connection and then neither reads nor writes: a peer that took the
/// connection and hangs. With close_at_once it closes each connection right away instead.
class silent_peer {
 public:
  explicit silent_peer(bool close_at_once = false) : close_at_once_(close_at_once) {
    listener_ = listening_socket(16, port_);
    thread_ = std::thread([this] { loop(); });
  }
  ~silent_peer() {
    stop_ = true;
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void loop() {
    std::vector<int> held;
    const auto until = steady::now() + watchdog;
    while (!stop_ && steady::now() < until) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++accepted_;
      if (close_at_once_) {
        ::close(fd);
      } else {
        held.push_back(fd);
      }
    }
    for (const int fd : held) ::close(fd);
    ::close(listener_);
  }

  bool close_at_once_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// A listener with backlog 0 that never accepts, its queue filled by one connection of our
/// own: Linux drops every further SYN, so a client's connect stays pending.
class unanswered_connect {
 public:
  unanswered_connect() {
    listener_ = listening_socket(0, port_);
    filler_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (!connect_loopback(filler_, port_)) {
      throw std::runtime_error("cannot fill the backlog");
    }
    watchdog_ = std::thread([this] {
      const auto until = steady::now() + watchdog;
      while (!stop_ && steady::now() < until) std::this_thread::sleep_for(20ms);
      ::close(filler_);
      ::close(listener_);
    });
  }
  ~unanswered_connect() {
    stop_ = true;
    watchdog_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  int filler_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread watchdog_;
};

// A loopback port nobody listens on.
std::uint16_t closed_port() {
  std::uint16_t port = 0;
  ::close(listening_socket(1, port));
  return port;
}

struct timed_result {
  cli_result result;
  steady::duration took;
};

timed_result timed_cli(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env,
                       const std::string& input = {}) {
  const auto start = steady::now();
  cli_result result = run_cli(args, env, input);
  return {std::move(result), steady::now() - start};
}

std::map<std::string, std::string> api_env(std::uint16_t port) {
  return {{"DISPATCHER_URL", "http://127.0.0.1:" + std::to_string(port)},
          {"DISPATCHER_ADMIN_TOKEN", admin_token}};
}

std::string one_event() {
  return event_json("account.connection.created", "11111111-1111-4111-8111-111111111111",
                    "33333333-3333-4333-8333-333333333333", "active", 1) +
         "\n";
}

// An error is a sentence for people: no exception text with Boost source locations.
void expect_plain_sentence(const std::string& err) {
  EXPECT_EQ(err.find(".hpp"), std::string::npos) << err;
  EXPECT_EQ(err.find("boost"), std::string::npos) << err;
  EXPECT_EQ(err.find("[system:"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST(CliTimeout, replay_gives_up_on_an_api_that_accepts_and_never_answers) {
  silent_peer api;
  const auto [r, took] = timed_cli({"replay", "--timeout", "1s"}, api_env(api.port()));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(took, prompt);
  EXPECT_GE(took, 900ms) << "gave up before its timeout";
  EXPECT_EQ(r.err, "dispatcher replay: the admin API at http://127.0.0.1:" +
                       std::to_string(api.port()) + " did not answer within 1s\n");
  EXPECT_EQ(api.accepted(), 1) << "the request was sent on an accepted connection";
}

TEST(CliTimeout, a_host_name_is_looked_up_under_the_same_deadline) {
  silent_peer api;
  const std::string url = "http://localhost:" + std::to_string(api.port());
  const auto [r, took] = timed_cli({"replay", "--timeout", "1s", "--url", url},
                                   {{"DISPATCHER_ADMIN_TOKEN", admin_token}});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(took, prompt);
  EXPECT_EQ(r.err, "dispatcher replay: the admin API at " + url + " did not answer within 1s\n");
}

TEST(CliTimeout, replay_gives_up_when_the_connect_itself_never_completes) {
  unanswered_connect api;
  const auto [r, took] = timed_cli({"replay", "--timeout", "1s"}, api_env(api.port()));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(took, prompt);
  EXPECT_EQ(r.err, "dispatcher replay: the admin API at http://127.0.0.1:" +
                       std::to_string(api.port()) + " did not accept the connection within 1s\n");
}

TEST(CliTimeout, replay_failures_are_plain_sentences) {
  const auto port = closed_port();
  const auto refused = run_cli({"replay"}, api_env(port));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, "dispatcher replay: cannot connect to the admin API at http://127.0.0.1:" +
                             std::to_string(port) + ": connection refused\n");
  expect_plain_sentence(refused.err);

  silent_peer hangs_up(/*close_at_once=*/true);
  const auto closed = run_cli({"replay"}, api_env(hangs_up.port()));
  EXPECT_EQ(closed.exit_code, 1);
  EXPECT_NE(closed.err.find("closed the connection without answering"), std::string::npos)
      << closed.err;
  expect_plain_sentence(closed.err);
}

TEST(CliTimeout, replay_by_id_and_the_endpoint_check_share_the_deadline) {
  silent_peer api;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"replay", "dlv_0123", "--timeout", "1s"},
        std::vector<std::string>{"replay", "--endpoint", "ep_1", "--timeout", "1s"}}) {
    const auto [r, took] = timed_cli(args, api_env(api.port()));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_LT(took, prompt);
    EXPECT_EQ(r.err, "dispatcher replay: the admin API at http://127.0.0.1:" +
                         std::to_string(api.port()) + " did not answer within 1s\n");
  }
}

TEST(CliTimeout, publish_gives_up_on_a_redis_that_accepts_and_never_answers) {
  silent_peer redis;
  const auto [r, took] = timed_cli(
      {"publish", "--timeout", "1s", "-"},
      {{"DISPATCHER_REDIS_URL", "redis://127.0.0.1:" + std::to_string(redis.port())}}, one_event());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(took, prompt);
  EXPECT_GE(took, 900ms) << "gave up before its timeout";
  EXPECT_EQ(r.err.rfind("dispatcher publish: Redis at 127.0.0.1:" + std::to_string(redis.port()) +
                            " did not answer within 1s",
                        0),
            0u)
      << r.err;
  EXPECT_NE(r.err.find("line 1 and those after it were not added"), std::string::npos) << r.err;
  expect_plain_sentence(r.err);
  EXPECT_EQ(redis.accepted(), 1);
}

TEST(CliTimeout, publish_bounds_the_auth_step_too) {
  silent_peer redis;
  const auto [r, took] = timed_cli(
      {"publish", "--timeout", "1s", "-"},
      {{"DISPATCHER_REDIS_URL", "redis://:secret@127.0.0.1:" + std::to_string(redis.port())}},
      one_event());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(took, prompt);
  EXPECT_EQ(r.err, "dispatcher publish: Redis at 127.0.0.1:" + std::to_string(redis.port()) +
                       " did not answer within 1s\n");
}

TEST(CliTimeout, publish_gives_up_when_the_connect_itself_never_completes) {
  unanswered_connect redis;
  const auto [r, took] = timed_cli(
      {"publish", "--timeout", "1s", "-"},
      {{"DISPATCHER_REDIS_URL", "redis://127.0.0.1:" + std::to_string(redis.port())}}, one_event());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(took, prompt);
  EXPECT_EQ(r.err, "dispatcher publish: Redis at 127.0.0.1:" + std::to_string(redis.port()) +
                       " did not accept the connection within 1s\n");
}

TEST(CliTimeout, publish_failures_are_plain_sentences) {
  const auto port = closed_port();
  const auto r =
      run_cli({"publish", "-"},
              {{"DISPATCHER_REDIS_URL", "redis://127.0.0.1:" + std::to_string(port)}}, one_event());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "dispatcher publish: cannot connect to Redis at 127.0.0.1:" +
                       std::to_string(port) + ": connection refused\n");
  expect_plain_sentence(r.err);
}

TEST(CliTimeout, healthcheck_gives_up_on_a_service_that_accepts_and_never_answers) {
  silent_peer service;
  const std::string where = "127.0.0.1:" + std::to_string(service.port());
  const auto [r, took] = timed_cli({"healthcheck", "--address", where}, {});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_GE(took, 4900ms) << "gave up before its timeout";
  EXPECT_LT(took, 5s + prompt) << "the check's 5 s did not hold";
  EXPECT_EQ(r.err, "dispatcher healthcheck: " + where + ": the service did not answer within 5s\n");
}

TEST(CliTimeout, healthcheck_failures_are_plain_sentences) {
  const auto port = closed_port();
  const auto r = run_cli({"healthcheck", "--address", "127.0.0.1:" + std::to_string(port)}, {});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "dispatcher healthcheck: 127.0.0.1:" + std::to_string(port) +
                       ": cannot connect to the service: connection refused\n");
  expect_plain_sentence(r.err);
}

TEST(CliTimeout, publish_says_which_step_of_the_handshake_redis_refused) {
  redis_server redis;
  const std::string at = "127.0.0.1:" + std::to_string(redis.port());
  const auto password =
      run_cli({"publish", "-"}, {{"DISPATCHER_REDIS_URL", "redis://:wrong@" + at}}, one_event());
  EXPECT_EQ(password.exit_code, 1);
  EXPECT_EQ(password.err, "dispatcher publish: Redis at " + at + " refused the password\n");
  const auto database =
      run_cli({"publish", "-"}, {{"DISPATCHER_REDIS_URL", "redis://" + at + "/99"}}, one_event());
  EXPECT_EQ(database.exit_code, 1);
  EXPECT_EQ(database.err, "dispatcher publish: cannot select database 99 on Redis at " + at + "\n");
  EXPECT_EQ(redis.cmd({"XLEN", "lifecycle:events"}), "0");
}

// publish runs on the service's connection in one-shot mode: the handshake is bounded by
// connect_timeout (it was not: a Redis that accepted and never answered AUTH held the
// service's connect forever), and the failed step is there for the caller to report.
TEST(CliTimeout, the_redis_connection_bounds_its_handshake_and_says_where_it_failed) {
  silent_peer redis;
  boost::asio::io_context io;
  redis::connection_options o;
  o.port = redis.port();
  o.password = "secret";
  o.connect_timeout = 300ms;
  o.reconnect = false;
  auto conn = std::make_shared<redis::connection>(io.get_executor(), o);
  boost::asio::co_spawn(io, conn->async_run(), boost::asio::detached);
  std::optional<bool> connected;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        connected = co_await conn->async_wait_connected(10s);
      },
      boost::asio::detached);
  const auto start = steady::now();
  io.run_for(watchdog);  // ends with the one attempt
  EXPECT_LT(steady::now() - start, prompt);
  EXPECT_EQ(connected, false);
  ASSERT_TRUE(conn->last_failure());
  EXPECT_EQ(conn->last_failure()->at, redis::connect_failure::step::handshake);
  EXPECT_EQ(conn->last_failure()->ec, errc::redis_timeout);
  EXPECT_EQ(redis.accepted(), 1) << "one attempt, no reconnect";
}

TEST(CliTimeout, the_service_connection_retries_a_handshake_that_gets_no_answer) {
  silent_peer redis;
  boost::asio::io_context io;
  redis::connection_options o;
  o.port = redis.port();
  o.password = "secret";
  o.connect_timeout = 200ms;
  o.min_backoff = 10ms;
  auto conn = std::make_shared<redis::connection>(io.get_executor(), o);
  boost::asio::co_spawn(io, conn->async_run(), boost::asio::detached);
  const auto until = steady::now() + prompt;
  while (redis.accepted() < 2 && steady::now() < until) io.run_for(50ms);
  EXPECT_GE(redis.accepted(), 2) << "the first handshake held the connection";
  conn->stop();
  io.run_for(1s);
}

}  // namespace
}  // namespace dispatcher::testing
