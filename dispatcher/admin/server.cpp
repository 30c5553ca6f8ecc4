// The admin HTTP/1.1 server on Boost.Beast. It owns the listening socket and one coroutine
// per connection, and does only I/O: read a request under a deadline, turn it into the
// Beast-free admin::request, await the handler, write the admin::response back. What a
// request means is the handler's business (Beast's run_session / handle_request split).
// All of Beast lives in this file so the routes compile fast and are tested without
// sockets.
//
// Abuse (CONTRACT section 6): the authorizer is asked as soon as the headers are in, so an
// unauthenticated client gets its 401 without a byte of its body being buffered (and
// without "100 Continue"); a connection must deliver a complete request within 5 s of
// becoming idle; and at the connection cap the longest-idle connection with no request in
// progress is closed to admit the new one (nginx does the same with keep-alive
// connections), so one client holding idle sockets cannot lock operators out.
//
// Threads: the acceptor runs on its own strand, and each connection on a strand of its
// own, so the server is safe on an io_context run by several threads; stop() may be called
// from any thread. What other strands need to know of a connection (whether a request is
// in progress, since when it is idle, whether it was told to close) lives in the registry
// under its mutex.
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

#include "dispatcher/admin/error_body.hpp"
#include "dispatcher/admin/request_parser.hpp"
#include "dispatcher/common/linger_close.hpp"
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

// A connection's read buffer: the headers and one read of what follows them.
constexpr std::size_t max_buffer_bytes = 2 * max_header_bytes;
// From the moment a connection is idle (accepted, or its last answer written) a complete
// request, body included, must be in within this time (CONTRACT section 6). Long enough
// for the console polling every 2 s and for 1 MiB at 200 KiB/s; short enough that idle
// and slow-loris sockets do not pile up.
constexpr auto request_timeout = 5s;
// Writing a response; responses are at most a few hundred KiB (a list of 500 deliveries).
constexpr auto write_timeout = 10s;
// After answering 400 or 413 we half-close and read what the client still sends for this
// long (and at most this much), so it sees our answer instead of a reset.
constexpr auto linger_timeout = 2s;
constexpr std::size_t max_linger_bytes = 4 * max_body_bytes;
// Open connections at most (a quarter of a common 4096 descriptor limit, far above what
// operators and scrapers use). At the cap a new connection evicts the longest-idle one
// with no request in progress; only when every connection is busy is it refused.
constexpr std::size_t max_connections = 1024;
// Pause after a failed accept (EMFILE and the like) so the loop does not spin.
constexpr auto accept_retry_delay = 100ms;

using clock = std::chrono::steady_clock;

struct connection {
  connection(tcp::socket socket, std::uint64_t connection_id)
      : stream(std::move(socket)), id(connection_id) {}
  beast::tcp_stream stream;
  const std::uint64_t id;  // its key in the registry
};

// What the acceptor and stop() need to know of a connection, kept in the registry and
// read and written only under its mutex.
struct connection_entry {
  std::weak_ptr<connection> conn;
  // A complete request is being handled or answered: never evicted, and stop() lets it
  // finish.
  bool busy = false;
  // Waiting for the first byte of a request, or lingering after an error: stop() closes
  // only these, so a request already arriving still gets its answer.
  bool waiting = false;
  // Told to close (evicted or stopped): it must not start handling another request.
  bool closing = false;
  // When it last had no request in progress (accepted, or its last answer written).
  clock::time_point idle_since;
};

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
  server_state(asio::any_io_executor executor, handler on_request, authorizer authorize)
      : executor_(executor),
        strand_(asio::make_strand(executor)),
        acceptor_(strand_),
        retry_timer_(strand_),
        drained_(strand_),
        on_request_(std::move(on_request)),
        authorize_(std::move(authorize)) {}

  asio::any_io_executor executor_;
  asio::strand<asio::any_io_executor> strand_;  // acceptor_, retry_timer_, drained_
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  asio::steady_timer drained_;  // cancelled when the last connection ends after stop()
  handler on_request_;
  authorizer authorize_;  // may be empty: every request goes on to the handler
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};

  std::mutex mutex_;  // guards connections_, closing_ and next_id_
  std::map<std::uint64_t, connection_entry> connections_;
  // Entries told to close that have not ended yet; they do not count against the cap, so
  // a burst of new connections is not refused while evicted ones wind down.
  std::size_t closing_ = 0;
  std::uint64_t next_id_ = 0;

  // Closes the connection on its own strand; its pending read or write ends with an error
  // and its session returns. Called with mutex_ held, on an entry not yet closing.
  void close_locked(connection_entry& entry) {
    entry.closing = true;
    ++closing_;
    if (auto conn = entry.conn.lock()) {
      asio::post(conn->stream.get_executor(), [conn] {
        beast::error_code ignored;
        conn->stream.socket().close(ignored);
      });
    }
  }

  // The connection waits for its next request (or lingers before closing), idle since
  // `since`. False when it was told to close, or the server is stopping (checked under the
  // lock so stop() cannot miss it).
  bool begin_waiting(const connection& conn, clock::time_point since) {
    std::lock_guard lock(mutex_);
    auto& entry = connections_.at(conn.id);
    entry.busy = false;
    entry.waiting = true;
    entry.idle_since = since;
    return !entry.closing && !stopping_.load();
  }

  // A request has started arriving (or lingering is over).
  void end_waiting(const connection& conn) {
    std::lock_guard lock(mutex_);
    connections_.at(conn.id).waiting = false;
  }

  // A request is complete and will be answered. False when the connection was told to
  // close meanwhile: it ends without starting the request.
  bool begin_request(const connection& conn) {
    std::lock_guard lock(mutex_);
    auto& entry = connections_.at(conn.id);
    if (entry.closing) return false;
    entry.busy = true;
    return true;
  }
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

// Closes after an answer without resetting the connection (common/linger_close.hpp).
asio::awaitable<void> async_linger_close(server_state& self, connection& conn) {
  // A lingering connection is on its way out: the first to go at the cap.
  if (!self.begin_waiting(conn, clock::time_point::min())) {
    beast::error_code ec;
    conn.stream.socket().close(ec);
    co_return;
  }
  co_await dispatcher::async_linger_close(conn.stream, linger_timeout, max_linger_bytes);
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
// deadline passes, a request is malformed or unauthorized with a body on its way, the
// connection is evicted, or the server stops.
asio::awaitable<void> async_session(impl_ptr self, std::shared_ptr<connection> conn) {
  auto& stream = conn->stream;
  // Bounded: the parser moves body bytes into the request as they arrive, so the buffer
  // holds at most the headers and one read's worth, and a refused request's body costs
  // nothing more.
  beast::flat_buffer buffer(max_buffer_bytes);

  while (self->begin_waiting(*conn, clock::now())) {
    const auto deadline = clock::now() + request_timeout;
    // Idle: wait for the first byte of the next request, unless a pipelined one is
    // already buffered.
    if (buffer.size() == 0) {
      stream.expires_at(deadline);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
      if (ec) break;  // closed by the client, idle too long, evicted or stopped
      buffer.commit(n);
    }
    self->end_waiting(*conn);

    http::request_parser<http::string_body> parser;
    parser.body_limit(max_body_bytes);
    parser.header_limit(max_header_bytes);
    stream.expires_at(deadline);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);

    std::optional<request> admin_request;
    std::optional<response> early;  // the answer decided from the headers alone
    if (!ec) {
      admin_request = to_admin_request(parser.get().method_string(), parser.get().target(),
                                       parser.get()[http::field::authorization]);
      if (!admin_request) {
        co_await async_write_error(*conn, parser.get().version(), http::status::bad_request,
                                   "bad_request", "malformed request target");
        co_await async_linger_close(*self, *conn);
        break;
      }
      if (self->authorize_) {
        early = self->authorize_(admin_request->path, admin_request->authorization);
      }
    }
    const bool head = parser.is_header_done() && parser.get().method() == http::verb::head;
    if (early && !parser.is_done()) {
      // Refused with a body on its way: answer now, read none of it into memory (and send
      // no "100 Continue"), and close.
      auto res = to_beast(std::move(*early), parser.get().version(), false, head);
      stream.expires_after(write_timeout);
      co_await http::async_write(stream, res, use_tuple);
      co_await async_linger_close(*self, *conn);
      break;
    }
    if (!ec && !early && parser.chunked()) {
      // Bodies must announce their length. Every client of this API (the CLI, curl -d,
      // the console's fetch) sends Content-Length, and Beast 1.81's chunk parser asserts
      // on a final chunk trickled in byte by byte: refusing chunked framing before any
      // chunk is parsed keeps that code off the path of hostile clients.
      co_await async_write_error(*conn, parser.get().version(), http::status::length_required,
                                 "length_required",
                                 "chunked request bodies are not accepted; send Content-Length");
      co_await async_linger_close(*self, *conn);
      break;
    }
    if (!ec && !early && !parser.is_done()) {
      // curl and others wait for "100 Continue" before sending a large body.
      const auto expect = parser.get()[http::field::expect];
      if (parser.get().version() >= 11 && beast::iequals(expect, "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        stream.expires_after(write_timeout);
        auto [write_ec, written] = co_await http::async_write(stream, go_on, use_tuple);
        if (write_ec) break;
      }
      stream.expires_at(deadline);
      std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_tuple);
    }
    const unsigned version = parser.is_header_done() ? parser.get().version() : 11;
    if (ec == http::error::body_limit) {
      co_await async_write_error(*conn, version, http::status::payload_too_large,
                                 "payload_too_large", "the request body exceeds 1 MiB");
      co_await async_linger_close(*self, *conn);
      break;
    }
    if (ec == http::error::header_limit) {
      co_await async_write_error(*conn, version, http::status::bad_request, "bad_request",
                                 "the request headers exceed 8 KiB");
      co_await async_linger_close(*self, *conn);
      break;
    }
    if (is_malformed(ec)) {
      co_await async_write_error(*conn, version, http::status::bad_request, "bad_request",
                                 "malformed HTTP request");
      co_await async_linger_close(*self, *conn);
      break;
    }
    if (ec) break;  // the client went away or was too slow; there is no one to answer
    if (!self->begin_request(*conn)) break;  // evicted or stopped just as it arrived

    auto beast_request = parser.release();
    response answer;
    const auto started = clock::now();
    const std::string method = admin_request->method;
    const std::string path = admin_request->path;
    if (early) {
      answer = std::move(*early);
    } else {
      admin_request->body = std::move(beast_request.body());
      answer = co_await async_call_handler(self, std::move(*admin_request));
    }
    obs::log_debug(
        "admin request",
        {{"method", method},
         {"path", path},
         {"status", std::to_string(answer.status)},
         {"duration_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            clock::now() - started)
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
    if (const auto it = self->connections_.find(id); it != self->connections_.end()) {
      if (it->second.closing) --self->closing_;
      self->connections_.erase(it);
    }
    drained = self->connections_.empty() && self->stopping_.load();
  }
  if (drained) asio::post(self->strand_, [self] { self->drained_.cancel(); });
}

// With mutex_ held: the connection that has been idle longest with no request in
// progress and not yet told to close, or nullptr. A linear scan: it runs only at the cap,
// over at most max_connections entries, a few microseconds.
connection_entry* longest_idle_locked(server_state& self) {
  connection_entry* oldest = nullptr;
  for (auto& [id, entry] : self.connections_) {
    if (entry.busy || entry.closing) continue;
    if (oldest == nullptr || entry.idle_since < oldest->idle_since) oldest = &entry;
  }
  return oldest;
}

void start_session(const impl_ptr& self, tcp::socket socket) {
  std::shared_ptr<connection> conn;
  {
    std::lock_guard lock(self->mutex_);
    if (self->connections_.size() - self->closing_ >= max_connections) {
      connection_entry* victim = longest_idle_locked(*self);
      if (victim == nullptr) {
        obs::log_warn("admin: too many connections, all busy; closing a new one",
                      {{"limit", std::to_string(max_connections)}});
        beast::error_code ignored;
        socket.close(ignored);
        return;
      }
      obs::log_debug("admin: connection cap reached; closing the longest-idle connection",
                     {{"limit", std::to_string(max_connections)}});
      self->close_locked(*victim);
    }
    const std::uint64_t id = ++self->next_id_;
    conn = std::make_shared<connection>(std::move(socket), id);
    self->connections_.emplace(id, connection_entry{conn, false, false, false, clock::now()});
  }
  const std::uint64_t id = conn->id;
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

server::server(boost::asio::any_io_executor executor, const std::string& listen, handler on_request,
               authorizer authorize)
    : impl_(std::make_shared<impl>(executor, std::move(on_request), std::move(authorize))) {
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
  // Waiting connections close now; the others see stopping_ once their request is
  // answered (begin_waiting checks it under this lock, so none is missed).
  std::lock_guard lock(self->mutex_);
  for (auto& [id, entry] : self->connections_) {
    if (entry.waiting && !entry.closing) self->close_locked(entry);
  }
}

}  // namespace dispatcher::admin
