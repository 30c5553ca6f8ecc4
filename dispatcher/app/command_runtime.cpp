// The operator commands' event loop; see command_runtime.hpp.
#include "dispatcher/app/command_runtime.hpp"

#include <exception>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace dispatcher::app {

int run_command(
    const std::function<boost::asio::awaitable<int>(boost::asio::any_io_executor)>& command) {
  // Never destroyed, and stopped as soon as the command ends rather than run until idle: a
  // host name lookup abandoned at its deadline (common/resolve.hpp) keeps running in asio's
  // resolver thread, which the io_context would wait for, and join when destroyed, holding
  // the process for as long as getaddrinfo takes. The process ends right after; the pointer
  // is static, so LeakSanitizer sees it as reachable.
  static auto* const io = new boost::asio::io_context(1);
  std::optional<int> code;
  std::exception_ptr error;
  boost::asio::co_spawn(*io, command(io->get_executor()), [&](std::exception_ptr e, int c) {
    error = e;
    code = c;
    io->stop();
  });
  io->restart();
  io->run();
  if (error) std::rethrow_exception(error);
  return code.value_or(1);
}

}  // namespace dispatcher::app
