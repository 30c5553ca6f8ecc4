// The admin HTTP/1.1 server on Boost.Beast. It owns the listening socket and one coroutine
// per connection, and does only I/O: read a request under a deadline, turn it into the
// Beast-free admin::request, await the handler, write the admin::response back. What a
// request means is the handler's business (Beast's run_session / handle_request split).
// All of Beast lives in this file so the routes compile fast and are tested without
// sockets.
//
// Threads: the acceptor runs on its own strand, and each connection on a strand of its
// own, so the server is safe on an io_context run by several threads; stop() may be called
// from any thread.
#include "dispatcher/admin/server.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "dispatcher/admin/request_parser.hpp"
#include "dispatcher/config/settings.hpp"
#include "dispatcher/obs/log.hpp"

namespace dispatcher::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// How long a keep-alive connection may sit idle between requests. Long enough for a
// dashboard polling every few seconds, short enough that abandoned connections go.
constexpr auto idle_timeout = 30s;
// Once a request has started arriving, all of it must be in within this time: 1 MiB at
// 100 KiB/s, and a bound on slow-loris clients holding a connection open.
constexpr auto request_read_timeout = 10s;
// Writing a response; responses are at most a few hundred KiB (a list of 500 deliveries).
constexpr auto write_timeout = 10s;
// After answering 400 or 413 we half-close and read what the client still sends for this
// long (and at most this much), so it sees our answer instead of a reset.
constexpr auto linger_timeout = 2s;
constexpr std::size_t max_linger_bytes = 4 * max_body_bytes;
// Connections beyond this are closed on accept: the admin API serves operators and
// scrapers, not the public, so hitting it means something is leaking connections.
constexpr std::size_t max_connections = 1024;
// Pause after a failed accept (EMFILE and the like) so the loop does not spin.
constexpr auto accept_retry_delay = 100ms;

struct connection {
  explicit connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  // True while waiting for the next request (or lingering); stop() cancels only then, so
  // a request being handled still gets its answer. Touched only on the connection strand.
  bool idle = false;
};

std::string error_body(std::string_view code, std::string_view message) {
  return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
}

// Protocol violations, as opposed to the peer going away or a timeout.
bool is_malformed(const beast::error_code& ec) {
  if (ec.category() != http::make_error_code(http::error::bad_method).category()) return false;
  return ec != http::error::end_of_stream && ec != http::error::partial_message &&
         ec != http::error::need_more;
}

http::response<http::string_body> to_beast(response&& in, unsigned version, bool keep_alive,
                                           bool head) {
  http::response<http::string_body> out;
  out.version(version);
  if (in.status < 200 || in.status > 599) {
    obs::log_error("admin: handler returned an invalid status; sending 500",
                   {{"status", std::to_string(in.status)}});
    in = response{500, "application/json", error_body("internal", "internal error"), {}};
  }
  out.result(static_cast<unsigned>(in.status));
  if (!in.content_type.empty()) out.set(http::field::content_type, in.content_type);
  for (const auto& [name, value] : in.headers) out.insert(name, value);
  out.keep_alive(keep_alive);
  out.body() = std::move(in.body);
  out.prepare_payload();
  if (head) {
    // HEAD: the headers GET would have, Content-Length included, and no body.
    const auto length = out.body().size();
    out.body().clear();
    out.content_length(length);
  }
  return out;
}

// Everything the server shares with its coroutines, which keep it alive (by shared_ptr)
// until the last of them ends, even if the server object goes first.
struct server_state {
  server_state(asio::any_io_executor executor, handler on_request)
      : executor_(executor),
        strand_(asio::make_strand(executor)),
        acceptor_(strand_),
        retry_timer_(strand_),
        drained_(strand_),
        on_request_(std::move(on_request)) {}

  asio::any_io_executor executor_;
  asio::strand<asio::any_io_executor> strand_;  // acceptor_, retry_timer_, drained_
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  asio::steady_timer drained_;  // cancelled when the last connection ends after stop()
  handler on_request_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};

  std::mutex mutex_;  // guards connections_ and next_id_
  std::map<std::uint64_t, std::weak_ptr<connection>> connections_;
  std::uint64_t next_id_ = 0;
};

using impl_ptr = std::shared_ptr<server_state>;

asio::awaitable<void> async_write_error(connection& conn, unsigned version, http::status status,
                                        std::string_view code, std::string_view message) {
  http::response<http::string_body> res{status, version};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(false);
  res.body() = error_body(code, message);
  res.prepare_payload();
  conn.stream.expires_after(write_timeout);
  co_await http::async_write(conn.stream, res, use_tuple);
}

// Half-closes and drains what the client is still sending, so that closing a socket with
// unread data does not reset the connection and destroy the answer we just wrote.
asio::awaitable<void> async_linger_close(connection& conn) {
  beast::error_code ec;
  conn.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  conn.idle = true;
  conn.stream.expires_after(linger_timeout);
  std::array<char, 16 * 1024> sink;
  std::size_t drained = 0;
  while (drained < max_linger_bytes) {
    auto [read_ec, n] = co_await conn.stream.async_read_some(asio::buffer(sink), use_tuple);
    if (read_ec) break;
    drained += n;
  }
  conn.stream.socket().close(ec);
}

asio::awaitable<response> async_call_handler(impl_ptr self, request req) {
  const std::string method = req.method;
  const std::string path = req.path;
  try {
    co_return co_await self->on_request_(std::move(req));
  } catch (const std::exception& e) {
    obs::log_error("admin: handler failed",
                   {{"method", method}, {"path", path}, {"error", e.what()}});
  } catch (...) {
    obs::log_error("admin: handler failed",
                   {{"method", method}, {"path", path}, {"error", "unknown exception"}});
  }
  co_return response{500, "application/json", error_body("internal", "internal error"), {}};
}

// One connection: requests one after another (keep-alive) until the client closes, a
// deadline passes, a request is malformed or the server stops.
asio::awaitable<void> async_session(impl_ptr self, std::shared_ptr<connection> conn) {
  auto& stream = conn->stream;
  beast::flat_buffer buffer;

  while (!self->stopping_.load()) {
    // Idle: wait for the first byte of the next request, unless a pipelined one is
    // already buffered.
    if (buffer.size() == 0) {
      conn->idle = true;
      stream.expires_after(idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
      conn->idle = false;
      if (ec) break;  // closed by the client, idle too long, or stop(): nothing to answer
      buffer.commit(n);
    }

    http::request_parser<http::string_body> parser;
    parser.body_limit(max_body_bytes);
    parser.header_limit(max_header_bytes);
    stream.expires_after(request_read_timeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (!ec && !parser.is_done()) {
      // curl and others wait for "100 Continue" before sending a large body.
      const auto expect = parser.get()[http::field::expect];
      if (parser.get().version() >= 11 && beast::iequals(expect, "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        auto [write_ec, written] = co_await http::async_write(stream, go_on, use_tuple);
        if (write_ec) break;
      }
      std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_tuple);
    }
    const unsigned version = parser.is_header_done() ? parser.get().version() : 11;
    if (ec == http::error::body_limit) {
      co_await async_write_error(*conn, version, http::status::payload_too_large,
                                 "payload_too_large", "the request body exceeds 1 MiB");
      co_await async_linger_close(*conn);
      break;
    }
    if (ec == http::error::header_limit) {
      co_await async_write_error(*conn, version, http::status::bad_request, "bad_request",
                                 "the request headers exceed 8 KiB");
      co_await async_linger_close(*conn);
      break;
    }
    if (is_malformed(ec)) {
      co_await async_write_error(*conn, version, http::status::bad_request, "bad_request",
                                 "malformed HTTP request");
      co_await async_linger_close(*conn);
      break;
    }
    if (ec) break;  // the client went away or was too slow; there is no one to answer

    auto beast_request = parser.release();
    const bool head = beast_request.method() == http::verb::head;
    auto admin_request = to_admin_request(beast_request);
    if (!admin_request) {
      co_await async_write_error(*conn, beast_request.version(), http::status::bad_request,
                                 "bad_request", "malformed request target");
      co_await async_linger_close(*conn);
      break;
    }

    const auto started = std::chrono::steady_clock::now();
    const std::string method = admin_request->method;
    const std::string path = admin_request->path;
    response answer = co_await async_call_handler(self, std::move(*admin_request));
    obs::log_debug(
        "admin request",
        {{"method", method},
         {"path", path},
         {"status", std::to_string(answer.status)},
         {"duration_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::steady_clock::now() - started)
                                            .count())}});

    // After stop() the answer says "Connection: close" so the client reconnects elsewhere.
    const bool keep_alive = beast_request.keep_alive() && !self->stopping_.load();
    auto res = to_beast(std::move(answer), beast_request.version(), keep_alive, head);
    stream.expires_after(write_timeout);
    auto [write_ec, written] = co_await http::async_write(stream, res, use_tuple);
    if (write_ec || !keep_alive) break;
  }

  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
}

void forget(const impl_ptr& self, std::uint64_t id) {
  bool drained = false;
  {
    std::lock_guard lock(self->mutex_);
    self->connections_.erase(id);
    drained = self->connections_.empty() && self->stopping_.load();
  }
  if (drained) asio::post(self->strand_, [self] { self->drained_.cancel(); });
}

void start_session(const impl_ptr& self, tcp::socket socket) {
  auto conn = std::make_shared<connection>(std::move(socket));
  std::uint64_t id = 0;
  {
    std::lock_guard lock(self->mutex_);
    if (self->connections_.size() >= max_connections) {
      obs::log_warn("admin: too many connections; closing a new one",
                    {{"limit", std::to_string(max_connections)}});
      beast::error_code ignored;
      conn->stream.socket().close(ignored);
      return;
    }
    id = ++self->next_id_;
    self->connections_.emplace(id, conn);
  }
  asio::co_spawn(conn->stream.get_executor(), async_session(self, conn),
                 [self, id](std::exception_ptr error) {
                   forget(self, id);
                   if (!error) return;
                   try {
                     std::rethrow_exception(error);
                   } catch (const std::exception& e) {
                     obs::log_error("admin: connection failed", {{"error", e.what()}});
                   } catch (...) {
                     obs::log_error("admin: connection failed", {{"error", "unknown exception"}});
                   }
                 });
}

// Runs on the acceptor strand.
asio::awaitable<void> async_accept_loop(impl_ptr self) {
  while (!self->stopping_.load()) {
    // Each connection gets its own strand, so connections run in parallel on a
    // multi-threaded io_context but each one's steps never overlap.
    auto [ec, socket] =
        co_await self->acceptor_.async_accept(asio::make_strand(self->executor_), use_tuple);
    if (self->stopping_.load()) break;
    if (ec) {
      // Running out of file descriptors and aborted handshakes pass; keep accepting.
      obs::log_warn("admin: accept failed", {{"error", ec.message()}});
      self->retry_timer_.expires_after(accept_retry_delay);
      co_await self->retry_timer_.async_wait(use_tuple);
      continue;
    }
    start_session(self, std::move(socket));
  }

  // Wait for the connections: idle ones were cancelled by stop(), busy ones end after
  // answering their request (every step of which has a deadline).
  for (;;) {
    {
      std::lock_guard lock(self->mutex_);
      if (self->connections_.empty()) break;
    }
    self->drained_.expires_at(asio::steady_timer::time_point::max());
    co_await self->drained_.async_wait(use_tuple);
  }
}

}  // namespace

struct server::impl : server_state {
  using server_state::server_state;
};

server::server(boost::asio::any_io_executor executor, const std::string& listen, handler on_request)
    : impl_(std::make_shared<impl>(executor, std::move(on_request))) {
  const auto address = config::parse_host_port(listen);
  if (!address) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "cannot listen on \"" + listen + "\": expected host:port");
  }

  boost::system::error_code ec;
  tcp::resolver resolver(executor);
  const auto results = resolver.resolve(address->host, std::to_string(address->port),
                                        tcp::resolver::numeric_service, ec);
  if (ec) throw std::system_error(ec, "cannot resolve listen address \"" + listen + "\"");

  // A name such as localhost may resolve to both ::1 and 127.0.0.1; IPv4 goes first since
  // it is what most clients try, and the first address that binds wins.
  std::vector<tcp::endpoint> candidates;
  for (const auto& entry : results) {
    if (entry.endpoint().address().is_v4()) candidates.push_back(entry.endpoint());
  }
  for (const auto& entry : results) {
    if (entry.endpoint().address().is_v6()) candidates.push_back(entry.endpoint());
  }

  auto& acceptor = impl_->acceptor_;
  ec = boost::asio::error::host_not_found;
  for (const auto& endpoint : candidates) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    acceptor.open(endpoint.protocol(), ec);
    // Lets a restarted process bind while connections of the old one sit in TIME_WAIT.
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(tcp::socket::max_listen_connections, ec);
    if (!ec) break;
  }
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    throw std::system_error(ec, "cannot listen on " + listen);
  }
  impl_->port_ = acceptor.local_endpoint().port();
}

server::~server() = default;

std::uint16_t server::port() const {
  return impl_->port_;
}

boost::asio::awaitable<void> server::async_run() {
  // The accept loop runs on the acceptor's strand, where stop() closes the acceptor; the
  // awaitable returned here waits for it wherever the caller runs. Not a coroutine itself,
  // so the loop holds the state and the server object need not outlive the wait.
  return asio::co_spawn(impl_->strand_, async_accept_loop(impl_), asio::use_awaitable);
}

void server::stop() {
  const impl_ptr self = impl_;
  if (self->stopping_.exchange(true)) return;
  asio::post(self->strand_, [self] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
    self->drained_.cancel();  // the accept loop rechecks whether connections remain
  });
  std::lock_guard lock(self->mutex_);
  for (const auto& [id, weak] : self->connections_) {
    if (auto conn = weak.lock()) {
      asio::post(conn->stream.get_executor(), [conn] {
        if (conn->idle) conn->stream.cancel();
      });
    }
  }
}

}  // namespace dispatcher::admin
