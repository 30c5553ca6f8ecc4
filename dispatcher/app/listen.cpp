// The developer's receiver; see listen.hpp. One coroutine per connection, keep-alive as
// the dispatcher's connection pool expects, every read bounded in time and size.
#include "dispatcher/app/listen.hpp"

#include <charconv>
#include <iostream>

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
#include <nlohmann/json.hpp>

#include "dispatcher/common/time.hpp"
#include "dispatcher/signing/signature.hpp"
#include "dispatcher/signing/verify.hpp"

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

std::optional<unsigned> parse_number(std::string_view text, unsigned low, unsigned high) {
  unsigned v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || v < low || v > high) {
    return std::nullopt;
  }
  return v;
}

std::string event_type(std::string_view body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object()) {
    const auto it = json.find("event");
    if (it != json.end() && it->is_string()) return it->get<std::string>();
  }
  return "-";
}

struct receiver {
  listen_options options;
  asio::io_context& io;
  unsigned answered = 0;
};

asio::awaitable<void> serve_connection(tcp::socket socket, receiver& r) {
  const auto& options = r.options;
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(max_body);
    stream.expires_after(read_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec) break;
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

std::variant<listen_options, std::string> parse_listen_args(const std::vector<std::string>& args) {
  listen_options out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      out.help = true;
      continue;
    }
    if (flag != "--port" && flag != "--secret" && flag != "--status" && flag != "--host" &&
        flag != "--count") {
      return "listen: unknown option \"" + flag + "\"";
    }
    if (i + 1 >= args.size()) return "listen: " + flag + " needs a value";
    const std::string& value = args[++i];
    if (flag == "--port") {
      const auto port = parse_number(value, 1, 65535);
      if (!port) return "listen: --port must be a number from 1 to 65535, not \"" + value + "\"";
      out.port = static_cast<std::uint16_t>(*port);
    } else if (flag == "--status") {
      const auto status = parse_number(value, 200, 599);
      if (!status)
        return "listen: --status must be an HTTP status from 200 to 599, not \"" + value + "\"";
      out.status = *status;
    } else if (flag == "--count") {
      const auto count = parse_number(value, 1, 1'000'000'000);
      if (!count) return "listen: --count must be a positive number, not \"" + value + "\"";
      out.count = *count;
    } else if (flag == "--secret") {
      if (!signing::decode_secret(value)) {
        return "listen: --secret must be an endpoint secret, whsec_<base64>";
      }
      out.secret = value;
    } else {
      boost::system::error_code ec;
      asio::ip::make_address(value, ec);
      if (ec) return "listen: --host must be an IP address, not \"" + value + "\"";
      out.host = value;
    }
  }
  return out;
}

std::string listen_usage() {
  return "Usage: dispatcher listen [--port N] [--secret whsec_...] [--status CODE] [--host ADDR]\n"
         "                         [--count N]\n"
         "\n"
         "A webhook receiver for trying the dispatcher out: answers every request on\n"
         "ADDR:N (127.0.0.1:9101) with CODE (204), and prints one line per webhook: its\n"
         "webhook-id, its event type, and whether it verified with the endpoint's secret\n"
         "(Standard Webhooks headers, else x-chift-signature), or why not. A --status of 500\n"
         "shows the dispatcher's retries. Ctrl-C stops it, or --count N requests.\n";
}

std::string describe_webhook(const received_webhook& w, const std::optional<std::string>& secret,
                             std::int64_t now_s, unsigned status) {
  std::string line = (w.id.empty() ? std::string("-") : w.id) + " " + event_type(w.body) + " ";
  if (!secret) {
    line += "unverified (no --secret)";
  } else {
    const auto result =
        !w.signature.empty() || w.chift.empty()
            ? signing::verify_standard(*secret, w.id, w.timestamp, w.signature, w.body, now_s)
            : signing::verify_chift(*secret, w.chift, w.body);
    line += result.ok() ? "verified" : "NOT verified (" + result.reason + ")";
  }
  if (w.method != "POST") line += " [" + w.method + " " + w.target + "]";
  return line + " -> " + std::to_string(status);
}

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
