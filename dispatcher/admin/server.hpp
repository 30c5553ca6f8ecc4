// The admin HTTP server: accepts connections, parses HTTP/1.1 with Beast, hands each
// request to a handler coroutine and writes its response. Only I/O lives here; what a
// request means is the handler's business.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "dispatcher/admin/http_types.hpp"

namespace dispatcher::admin {

using handler = std::function<boost::asio::awaitable<response>(request)>;

class server {
 public:
  /// Binds host:port right away (throws std::system_error when it cannot, a startup
  /// error); port 0 picks a free one (see port()).
  server(boost::asio::any_io_executor executor, const std::string& listen, handler on_request);
  ~server();

  std::uint16_t port() const;

  /// Accepts until stop(); each connection runs as its own coroutine with keep-alive.
  boost::asio::awaitable<void> async_run();

  /// Stops accepting and closes open connections once their current request is answered.
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace dispatcher::admin
