// How an operator command does its I/O: as one coroutine on an io_context of its own, with
// the service's clients (the Redis connection, app/admin_client.hpp) and their deadlines,
// instead of blocking calls with socket timeouts. The command's coroutine returns the exit
// code; the loop ends with it, whatever else is still pending.
#pragma once

#include <functional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace dispatcher::app {

/// Runs command(executor) to its end and returns its exit code. An exception it throws is
/// rethrown here.
int run_command(
    const std::function<boost::asio::awaitable<int>(boost::asio::any_io_executor)>& command);

}  // namespace dispatcher::app
