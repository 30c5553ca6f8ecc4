// The container health check's client; see healthcheck.hpp. Blocking Beast calls under one
// deadline: the check runs once and exits.
#include "dispatcher/app/healthcheck.hpp"

#include <iostream>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace dispatcher::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

int run_healthcheck(const std::vector<std::string>& args,
                    const std::function<std::optional<std::string>(const std::string&)>& env) {
  std::optional<std::string> address;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--address" && i + 1 < args.size()) {
      address = args[++i];
    } else {
      std::cerr << "Usage: dispatcher healthcheck [--address HOST:PORT]\n\n"
                   "Exit 0 when GET /healthz on HOST:PORT (DISPATCHER_LISTEN, 127.0.0.1:8080)\n"
                   "answers 200 within 5 s, else 1.\n";
      return 2;
    }
  }
  const std::string where = healthcheck_address(address ? address : env("DISPATCHER_LISTEN"));
  const auto colon = where.rfind(':');
  std::string host = where.substr(0, colon);
  const std::string port = colon == std::string::npos ? "8080" : where.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);

  asio::io_context io;
  beast::tcp_stream stream(io);
  // Docker's own timeout is 30 s by default; the answer of a live process takes
  // milliseconds, so 5 s only rules out a stuck one.
  stream.expires_after(std::chrono::seconds(5));
  beast::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(host, port, ec);
  if (!ec) stream.connect(endpoints, ec);
  http::response<http::string_body> res;
  if (!ec) {
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, host);
    http::write(stream, req, ec);
  }
  beast::flat_buffer buffer;
  if (!ec) http::read(stream, buffer, res, ec);
  if (ec) {
    std::cerr << "dispatcher healthcheck: " << where << ": " << ec.message() << "\n";
    return 1;
  }
  if (res.result_int() != 200) {
    std::cerr << "dispatcher healthcheck: " << where << " answered " << res.result_int() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace dispatcher::app
