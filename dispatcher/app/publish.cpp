// `dispatcher publish`: JSON lines onto the stream, on the service's own Redis connection
// (redis/connection.hpp) in one-shot mode, so the AUTH/SELECT handshake and the deadlines
// are the service's. Lines are validated with the stream reader's rules and added one
// XADD at a time, each under --timeout, so a long file is never cut short by one deadline
// while a Redis that stops answering still ends the command (CONTRACT §7).
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>

#include "dispatcher/app/command_failure.hpp"
#include "dispatcher/app/command_runtime.hpp"
#include "dispatcher/app/commands.hpp"
#include "dispatcher/app/publish_report.hpp"
#include "dispatcher/redis/connection.hpp"

namespace dispatcher::app {

namespace {

namespace asio = boost::asio;

// The connection reports Asio's errors as std::error_code; these compare them to Asio's.
bool is(const std::error_code& ec, const boost::system::error_code& asio_error) {
  return ec == static_cast<std::error_code>(asio_error);
}

bool is_closed(const std::error_code& ec) {
  return is(ec, asio::error::eof) || is(ec, asio::error::connection_reset) ||
         is(ec, asio::error::broken_pipe);
}

// A failed command (the handshake's included) as a failure of its step.
command_failure command_failed(const std::error_code& ec) {
  if (ec == errc::redis_timeout) return {failed_step::command, failure_kind::timed_out, {}};
  if (is_closed(ec)) return {failed_step::command, failure_kind::closed, {}};
  return {failed_step::command, failure_kind::other, ec.message()};
}

// Why the connection attempt failed, in the words of command_failure.hpp.
std::string connect_failure_sentence(const redis::connect_failure& f, const std::string& server,
                                     const config::redis_address& address,
                                     std::chrono::milliseconds timeout) {
  using step = redis::connect_failure::step;
  command_failure failure;
  switch (f.at) {
    case step::lookup:
      failure.step = failed_step::lookup;
      if (f.ec == errc::redis_timeout) {
        failure.kind = failure_kind::timed_out;
      } else if (is(f.ec, asio::error::host_not_found) ||
                 is(f.ec, asio::error::host_not_found_try_again) ||
                 is(f.ec, asio::error::no_data)) {
        failure.kind = failure_kind::unknown_host;
      } else {
        failure.detail = f.ec.message();
      }
      break;
    case step::connect:
      failure.step = failed_step::connect;
      if (f.ec == errc::redis_timeout) {
        failure.kind = failure_kind::timed_out;
      } else {
        failure.detail = f.ec.message();
      }
      break;
    case step::handshake:
      if (f.ec == errc::redis_error_reply) {
        return refused_handshake_sentence(f.refused_command, server, address.db);
      }
      failure = command_failed(f.ec);
      break;
  }
  return failure_sentence(failure, server, address.host, timeout);
}

asio::awaitable<int> async_publish(asio::any_io_executor executor, std::istream& in,
                                   const publish_options& options,
                                   const config::settings& settings) {
  const auto address = config::parse_redis_url(settings.redis_url);
  const std::string server = redis_server_name(address.host, address.port);
  const auto fail = [](const std::string& sentence) {
    std::cerr << "dispatcher publish: " << sentence << "\n";
    return 1;
  };

  redis::connection_options o;
  o.host = address.host;
  o.port = address.port;
  o.password = address.password;
  o.db = address.db;
  // The lookup, connect and handshake share one --timeout; each command has its own.
  o.connect_timeout = options.timeout;
  o.command_timeout = options.timeout;
  o.reconnect = false;
  auto redis = std::make_shared<redis::connection>(executor, o);
  asio::co_spawn(executor, redis->async_run(), asio::detached);
  // The attempt ends by itself within connect_timeout; the margin only covers scheduling.
  if (!co_await redis->async_wait_connected(options.timeout * 2 + std::chrono::seconds(1))) {
    const auto& failure = redis->last_failure();
    redis->stop();
    if (!failure) {
      co_return fail(failure_sentence({failed_step::connect, failure_kind::timed_out, {}}, server,
                                      address.host, options.timeout));
    }
    co_return fail(connect_failure_sentence(*failure, server, address, options.timeout));
  }

  publish_report report;
  std::size_t line_number = 0;
  std::string line;
  std::optional<int> stopped;  // the exit code when Redis ended the command early
  while (!stopped && std::getline(in, line)) {
    ++line_number;
    if (auto problem = line_problem(line, settings.max_payload)) {
      if (!problem->empty()) std::cerr << report.rejected_line(line_number, *problem);
      continue;
    }
    const auto r = co_await redis->async_exec(
        redis::command{"XADD", settings.stream, "*", "payload", line}, options.timeout);
    if (r.ec) {
      stopped =
          fail(report.stopped_at(line_number, failure_sentence(command_failed(r.ec), server,
                                                               address.host, options.timeout)));
    } else if (r.value.is_error()) {
      std::cerr << publish_report::redis_error_line(line_number, r.value.str);
      stopped = 1;
    } else {
      std::cout << report.added_line(line_number, r.value.str);
    }
  }
  redis->stop();
  if (stopped) co_return *stopped;
  std::cout << report.summary();
  co_return report.exit_code();
}

}  // namespace

int run_publish(const publish_options& options, const config::settings& settings) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (options.file != "-") {
    file.open(options.file);
    if (!file) {
      std::cerr << "dispatcher publish: cannot open " << options.file << ": "
                << std::strerror(errno) << "\n";
      return 1;
    }
    in = &file;
  }
  return run_command([&](asio::any_io_executor executor) {
    return async_publish(executor, *in, options, settings);
  });
}

}  // namespace dispatcher::app
