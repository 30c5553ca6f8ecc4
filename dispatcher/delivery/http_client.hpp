// One webhook attempt over HTTP/1.1 or HTTPS, with keep-alive connection pools per
// origin. Every step (resolve, connect, TLS handshake, write, read) runs under the one
// request deadline; redirects are never followed; at most 64 KiB of a response is read.
// Failures are values in attempt_result, never exceptions.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "dispatcher/common/target.hpp"
#include "dispatcher/delivery/request_head.hpp"

namespace dispatcher::delivery {

struct client_options {
  std::chrono::milliseconds request_timeout{15000};
  std::string ca_file;  // empty: the system store
  bool allow_private_targets = false;
  std::size_t max_idle_per_origin = 32;
  std::chrono::milliseconds idle_timeout{30000};  // idle pooled connections are closed after
  std::string user_agent = "dispatcher/" DISPATCHER_VERSION;
};

struct attempt_result {
  std::optional<int> status_code;          // set when a response status line arrived
  std::string error;                       // empty when a complete response arrived
  std::string response_excerpt;            // first 1 KiB of the body
  std::optional<std::string> retry_after;  // raw Retry-After header
  std::chrono::milliseconds duration{0};
};

class http_client {
 public:
  http_client(boost::asio::any_io_executor executor, client_options options);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// POSTs body to the target with the given headers (content-type, user-agent and host
  /// are added). Never throws for network or protocol failures.
  boost::asio::awaitable<attempt_result> async_post(const target& to, const header_list& headers,
                                                    std::string body);

  /// Closes every pooled connection (used at shutdown).
  void close_idle();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dispatcher::delivery
