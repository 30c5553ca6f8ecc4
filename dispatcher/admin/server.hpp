// The admin HTTP server: accepts connections, parses HTTP/1.1 with Beast, hands each
// request to a handler coroutine and writes its response. Only I/O lives here; what a
// request means is the handler's business. It stays answerable under abuse (CONTRACT
// section 6): the authorizer sees the headers before any body is read, a connection with
// no complete request for 5 s is closed, and at the connection cap the longest-idle
// connection without a request in progress makes room for the new one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "dispatcher/admin/http_types.hpp"

namespace dispatcher::admin {

using handler = std::function<boost::asio::awaitable<response>(request)>;

/// Asked once a request's headers are in, before any of its body is read, with the
/// decoded path and the Authorization header: a response (a 401) is sent instead of
/// reading the body and calling the handler; nothing lets the request go on. Pure and
/// quick: it runs on the connection's strand.
using authorizer =
    std::function<std::optional<response>(std::string_view path, std::string_view authorization)>;

class server {
 public:
  /// Binds host:port right away (throws std::system_error when it cannot, a startup
  /// error); port 0 picks a free one (see port()).
  server(boost::asio::any_io_executor executor, const std::string& listen, handler on_request,
         authorizer authorize = {});
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
