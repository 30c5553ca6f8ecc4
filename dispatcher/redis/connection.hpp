// One pipelined connection to Redis, on Asio. Any number of coroutines on the same
// io_context may issue commands concurrently: requests are written in order, batched into
// one write when they queue up, and matched to replies in order (RESP guarantees it).
// async_run owns the socket's life: connect, AUTH/SELECT, read, and on any error fail
// every waiting command, back off exponentially and reconnect, until stop(). The command
// line uses the same connection for one attempt only (reconnect = false) and reports
// last_failure() itself, so the handshake exists once.
//
// hiredis 0.14 has no Asio adapter, no async timeouts and resolves host names with a
// blocking call, so only its RESP parser (redisReader) is used; the I/O is ours.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "dispatcher/redis/reply.hpp"

namespace dispatcher::redis {

using namespace std::chrono_literals;

struct connection_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string password;
  int db = 0;
  std::string client_name;  // CLIENT SETNAME, shows in CLIENT LIST
  std::chrono::milliseconds connect_timeout = 2s;
  /// Default deadline of a command; on expiry the connection is dropped, since a reply
  /// that arrives later could not be matched to its command any more.
  std::chrono::milliseconds command_timeout = 5s;
  /// Bound on commands waiting for a reply; beyond it commands fail at once
  /// (redis_overloaded) instead of growing memory while Redis is slow.
  std::size_t max_pending = 100'000;
  std::chrono::milliseconds min_backoff = 50ms;
  std::chrono::milliseconds max_backoff = 2s;
  /// Sent on every (re)connect after the handshake, before any user command. The main
  /// connection loads the pipeline's scripts so (SCRIPT LOAD): a call EVALSHA cannot find is
  /// sent again as EVAL, and then runs after the calls sent behind it, which the reader's
  /// pacing counts on not to happen (delivery/read_pace.hpp). A refusal is logged, not fatal
  /// (the calls still work through EVAL), except LOADING: a restarted Redis still loading
  /// its data is connected to again until it takes them.
  std::vector<command> on_connect;
  /// false: one connection attempt, and async_run ends when it fails or the connection
  /// drops, without logging; the owner reads last_failure(). For one-shot commands.
  bool reconnect = true;
};

/// Why a connection attempt failed: the step and its error. connect_timeout bounds the
/// lookup, the connect and the handshake together; running out of it is errc::redis_timeout.
struct connect_failure {
  enum class step { lookup, connect, handshake };
  step at = step::connect;
  std::error_code ec;
  /// handshake refused (errc::redis_error_reply): the command Redis refused ("AUTH",
  /// "SELECT", "CLIENT") and its error reply.
  std::string refused_command;
  std::string refusal;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(boost::asio::any_io_executor executor, connection_options options);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Connects and keeps the connection up until stop(). Spawn it once.
  boost::asio::awaitable<void> async_run();

  /// Sends the commands as one pipelined write and returns their replies in order. While
  /// disconnected, fails at once with errc::redis_not_connected.
  boost::asio::awaitable<std::vector<result>> async_exec(std::vector<command> commands,
                                                         std::chrono::milliseconds timeout = 0ms);
  boost::asio::awaitable<result> async_exec(command cmd, std::chrono::milliseconds timeout = 0ms);

  /// Waits until connected or the timeout passes; true when connected.
  boost::asio::awaitable<bool> async_wait_connected(std::chrono::milliseconds timeout);

  bool connected() const noexcept;
  /// The last failed connection attempt; empty when the last attempt succeeded.
  const std::optional<connect_failure>& last_failure() const noexcept;
  /// Closes the socket, fails waiting commands and ends async_run.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dispatcher::redis
