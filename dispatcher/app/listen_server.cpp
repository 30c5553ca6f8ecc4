// The developer's receiver's socket; see listen.hpp (its decisions are in listen.cpp). One
// coroutine per connection, keep-alive as the dispatcher's connection pool expects, every
// read bounded in time and size.
#include "dispatcher/app/listen.hpp"

#include <iostream>
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "dispatcher/common/linger_close.hpp"
#include "dispatcher/common/time.hpp"

namespace dispatcher::app {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The dispatcher sends at most DISPATCHER_MAX_PAYLOAD (256 KiB by default, settable
// higher); 16 MiB holds any sane setting and still bounds a stray client.
constexpr std::size_t max_body = 16 * 1024 * 1024;
// An idle keep-alive connection of the dispatcher's pool, or a client that stalls.
constexpr auto read_timeout = std::chrono::seconds(60);

struct receiver {
  listen_options options;
  asio::io_context& io;
  unsigned answered = 0;
};

// Answers 411 and closes without resetting the connection (common/linger_close.hpp).
asio::awaitable<void> async_refuse_chunked(beast::tcp_stream& stream, unsigned version) {
  http::response<http::string_body> res{http::status::length_required, version};
  res.set(http::field::content_type, "text/plain");
  res.body() = "chunked request bodies are not accepted; send Content-Length\n";
  res.keep_alive(false);
  res.prepare_payload();
  stream.expires_after(read_timeout);
  auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
  if (ec) {
    stream.socket().close(ec);
    co_return;
  }
  co_await async_linger_close(stream, std::chrono::seconds(1), 64 * 1024);
}

asio::awaitable<void> serve_connection(tcp::socket socket, receiver& r) {
  const auto& options = r.options;
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(max_body);
    stream.expires_after(read_timeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (ec) break;
    if (parser.chunked()) {
      // The dispatcher always sends Content-Length, and Beast 1.81's chunk parser asserts
      // on a final chunk trickled in byte by byte: as the admin server does, a chunked
      // body is refused before any chunk is parsed.
      co_await async_refuse_chunked(stream, parser.get().version());
      co_return;
    }
    if (!parser.is_done()) {
      std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_tuple);
      if (ec) break;
    }
    auto& req = parser.get();
    received_webhook w;
    w.method = std::string(req.method_string());
    w.target = std::string(req.target());
    w.id = std::string(req["webhook-id"]);
    w.timestamp = std::string(req["webhook-timestamp"]);
    w.signature = std::string(req["webhook-signature"]);
    w.chift = std::string(req["x-chift-signature"]);
    w.body = std::move(req.body());
    std::cout << describe_webhook(w, options.secret, unix_now_ms() / 1000, options.status)
              << std::endl;  // flushed: a developer or a test reads it as it happens

    http::response<http::empty_body> res{static_cast<http::status>(options.status), 11};
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    stream.expires_after(read_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
    if (options.count && ++r.answered >= *options.count) {
      r.io.stop();
      co_return;
    }
    if (wec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, receiver& r) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;  // a connection that failed before we saw it; keep serving the rest
    asio::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket), r), asio::detached);
  }
}

}  // namespace

int run_listen(const std::vector<std::string>& args) {
  const auto parsed = parse_listen_args(args);
  if (const auto* problem = std::get_if<std::string>(&parsed)) {
    std::cerr << "dispatcher: " << *problem << "\n\n" << listen_usage();
    return 2;
  }
  const auto& options = std::get<listen_options>(parsed);
  if (options.help) {
    std::cout << listen_usage();
    return 0;
  }
  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  boost::system::error_code ec;
  const tcp::endpoint where(asio::ip::make_address(options.host), options.port);
  acceptor.open(where.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(where, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::cerr << "dispatcher listen: cannot listen on " << options.host << ":" << options.port
              << ": " << ec.message() << "\n";
    return 1;
  }
  std::cerr << "listening on http://" << options.host << ":" << options.port << " (answering "
            << options.status << (options.secret ? ", verifying" : ", not verifying: no --secret")
            << ")" << std::endl;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    acceptor.close();
    io.stop();
  });
  receiver r{options, io};
  asio::co_spawn(io, accept_loop(acceptor, r), asio::detached);
  io.run();
  return 0;
}

}  // namespace dispatcher::app
