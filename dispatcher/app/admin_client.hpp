// The admin API as the operator commands reach it: requests with the bearer token over
// plain HTTP, every step (lookup, connect, write, read) under the one deadline of the whole
// command (CONTRACT §7), however many requests it makes. Failures come back as the
// sentences of app/command_failure.hpp, never as exception texts.
//
// Not delivery::http_client: that is the webhook client, and its defences are wrong here
// (it refuses private addresses, keeps 1 KiB of an answer, POSTs only and reports failures
// as delivery sentences); the admin API is our own service, usually on loopback.
#pragma once

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/verb.hpp>

#include "dispatcher/app/admin_answers.hpp"

namespace dispatcher::app {

class admin_client {
 public:
  /// `timeout` is the command's --timeout; its deadline starts now. `name` names the
  /// server in failures, api.name() when empty. Without a token no Authorization is sent.
  admin_client(boost::asio::any_io_executor executor, admin_api_address api,
               std::chrono::milliseconds timeout, std::string name = {});

  /// "the admin API at http://...".
  const std::string& name() const noexcept { return name_; }

  /// One request and its answer, or the sentence saying why there is none. The host name
  /// is looked up once, by the first request.
  boost::asio::awaitable<std::variant<api_answer, std::string>> async_exchange(
      boost::beast::http::verb method, std::string target, std::string body = {});

 private:
  boost::asio::any_io_executor executor_;
  admin_api_address api_;
  std::string name_;
  std::chrono::milliseconds timeout_;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
};

}  // namespace dispatcher::app
