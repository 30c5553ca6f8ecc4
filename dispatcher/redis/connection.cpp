// The pipelined connection's I/O: one writer and one reader coroutine over a socket, a
// watchdog for command deadlines, and the reconnect loop. Replies are matched to commands
// by order, so any doubt about the stream (a timeout, a parse error) drops the connection.
#include "dispatcher/redis/connection.hpp"

#include <deque>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "dispatcher/common/error.hpp"
#include "dispatcher/common/resolve.hpp"
#include "dispatcher/obs/log.hpp"
#include "dispatcher/obs/metrics.hpp"
#include "dispatcher/redis/reply_parser.hpp"
#include "dispatcher/retry/backoff.hpp"

namespace dispatcher::redis {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

/// Where a caller waits for its replies: the timer never expires on its own, it is
/// cancelled when the replies are in, which resumes the waiting coroutine through the
/// io_context (never inline from the read loop).
struct waiter {
  explicit waiter(const asio::any_io_executor& ex) : wake(ex, clock::time_point::max()) {}
  asio::steady_timer wake;
  std::vector<result> replies;
  bool done = false;
};

struct request {
  std::size_t expected = 0;
  std::vector<result> replies;
  std::shared_ptr<waiter> caller;
  clock::time_point deadline;
  bool counted = false;  // included in pending_commands
};

}  // namespace

struct connection::impl {
  asio::any_io_executor executor;
  connection_options options;
  tcp::socket socket;
  asio::steady_timer backoff_timer;
  reply_parser reader;
  std::deque<request> to_write;   // queued, not yet on the wire
  std::deque<request> in_flight;  // written, awaiting replies, in order
  std::size_t pending_commands = 0;
  std::vector<char> read_buffer = std::vector<char>(64 * 1024);
  bool connected = false;
  bool writing = false;
  std::string unwritten;      // the requests in to_write, encoded
  std::string writing_bytes;  // what the write in progress sends
  bool stopped = false;
  bool timed_out = false;
  std::optional<connect_failure> last_failure;

  impl(asio::any_io_executor ex, connection_options opts)
      : executor(ex), options(std::move(opts)), socket(ex), backoff_timer(ex) {}

  void complete(request& req) {
    if (req.counted) pending_commands -= req.expected;
    req.caller->replies = std::move(req.replies);
    req.caller->done = true;
    req.caller->wake.cancel();
  }

  void fail(request& req, std::error_code ec) {
    while (req.replies.size() < req.expected) req.replies.push_back(result{ec, {}});
    complete(req);
  }

  void fail_all(std::error_code ec) {
    for (auto* queue : {&in_flight, &to_write}) {
      for (auto& req : *queue) fail(req, ec);
      queue->clear();
    }
    unwritten.clear();  // their bytes must not reach the next connection
  }

  void enqueue(std::vector<command> commands, std::chrono::milliseconds timeout,
               std::shared_ptr<waiter> caller) {
    request req;
    req.expected = commands.size();
    req.caller = std::move(caller);
    req.deadline = clock::now() + (timeout.count() > 0 ? timeout : options.command_timeout);
    if (!connected || stopped) return fail(req, errc::redis_not_connected);
    if (pending_commands + req.expected > options.max_pending) {
      return fail(req, errc::redis_overloaded);
    }
    // Straight into the bytes waiting to be written: no buffer per request.
    for (const auto& c : commands) c.append_to(unwritten);
    pending_commands += req.expected;
    req.counted = true;
    to_write.push_back(std::move(req));
    if (!writing) {
      writing = true;
      asio::co_spawn(executor, write_loop(), asio::detached);
    }
  }

  asio::awaitable<void> write_loop() {
    while (connected && !to_write.empty()) {
      // Two buffers kept across writes and swapped (cleared, never freed): under load every
      // write is about the same size, and a fresh buffer each time costs a page fault per
      // 4 KiB.
      std::swap(writing_bytes, unwritten);
      unwritten.clear();
      while (!to_write.empty()) {
        in_flight.push_back(std::move(to_write.front()));
        to_write.pop_front();
      }
      auto [ec, n] = co_await asio::async_write(socket, asio::buffer(writing_bytes), use_tuple);
      if (ec) {
        // The read loop sees the closed socket and fails what is in flight.
        boost::system::error_code ignored;
        socket.close(ignored);
        break;
      }
    }
    writing = false;
  }

  /// Feeds bytes to the parser and hands complete replies to their requests.
  std::error_code consume(std::size_t n, std::deque<request>& requests) {
    if (auto ec = reader.feed({read_buffer.data(), n})) return ec;
    for (;;) {
      auto [ec, value] = reader.next();
      if (ec) return ec;
      if (!value) return {};
      if (requests.empty()) return errc::redis_protocol;
      auto& front = requests.front();
      front.replies.push_back(result{{}, std::move(*value)});
      if (front.replies.size() == front.expected) {
        complete(front);
        requests.pop_front();
      }
    }
  }

  asio::awaitable<std::error_code> read_loop() {
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(read_buffer), use_tuple);
      if (ec) co_return timed_out ? std::error_code(errc::redis_timeout) : std::error_code(ec);
      if (auto perr = consume(n, in_flight)) co_return perr;
    }
  }

  /// Drops the connection when the oldest command is past its deadline: a late reply could
  /// no longer be matched, so the only safe way on is a fresh connection.
  asio::awaitable<void> watchdog() {
    asio::steady_timer timer(executor);
    while (connected) {
      timer.expires_after(100ms);
      co_await timer.async_wait(use_tuple);
      if (!connected) break;
      const auto now = clock::now();
      const bool late = (!in_flight.empty() && in_flight.front().deadline < now) ||
                        (!to_write.empty() && to_write.front().deadline < now);
      if (late) {
        timed_out = true;
        boost::system::error_code ignored;
        socket.close(ignored);
        break;
      }
    }
  }

  // Records why the attempt failed, for last_failure(), and returns its error code.
  std::error_code failed(connect_failure::step at, std::error_code ec, std::string command = {},
                         std::string refusal = {}) {
    last_failure = connect_failure{at, ec, std::move(command), std::move(refusal)};
    return ec;
  }

  asio::awaitable<std::error_code> connect() {
    using namespace asio::experimental::awaitable_operators;
    using step = connect_failure::step;
    last_failure.reset();
    const auto deadline = clock::now() + options.connect_timeout;
    auto [rec, endpoints] =
        co_await async_resolve_until(executor, options.host, options.port, deadline);
    if (rec == asio::error::timed_out) co_return failed(step::lookup, errc::redis_timeout);
    if (rec) co_return failed(step::lookup, rec);
    socket = tcp::socket(executor);
    asio::steady_timer timer(executor);
    timer.expires_at(deadline);
    auto connected_result =
        co_await (asio::async_connect(socket, endpoints, use_tuple) || timer.async_wait(use_tuple));
    if (connected_result.index() == 1) co_return failed(step::connect, errc::redis_timeout);
    if (auto [cec, ep] = std::get<0>(connected_result); cec) co_return failed(step::connect, cec);
    socket.set_option(tcp::no_delay(true));
    // Under the same deadline: a Redis that accepts and never answers AUTH must not hold
    // the connection (or a command line waiting for it) forever.
    auto greeted = co_await (handshake() || timer.async_wait(use_tuple));
    if (greeted.index() == 1) co_return failed(step::handshake, errc::redis_timeout);
    co_return std::get<0>(greeted);
  }

  // AUTH, SELECT, CLIENT SETNAME and the options' on_connect commands go out before any
  // user command can.
  asio::awaitable<std::error_code> handshake() {
    using step = connect_failure::step;
    std::vector<command> hello;
    std::vector<const char*> names;
    if (!options.password.empty()) {
      hello.push_back(command{"AUTH", options.password});
      names.push_back("AUTH");
    }
    if (options.db != 0) {
      hello.push_back(command{"SELECT", std::to_string(options.db)});
      names.push_back("SELECT");
    }
    if (!options.client_name.empty()) {
      hello.push_back(command{"CLIENT", "SETNAME", options.client_name});
      names.push_back("CLIENT");
    }
    // The answers come in this order: the handshake's, then on_connect's (the scripts'
    // text, encoded from the options without a copy).
    const std::size_t required = hello.size();
    const std::size_t expected = required + options.on_connect.size();
    if (expected == 0) co_return std::error_code{};
    std::string bytes;
    for (const auto& c : hello) c.append_to(bytes);
    for (const auto& c : options.on_connect) c.append_to(bytes);
    auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(bytes), use_tuple);
    if (wec) co_return failed(step::handshake, wec);
    std::size_t answered = 0;
    while (answered < expected) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(read_buffer), use_tuple);
      if (ec) co_return failed(step::handshake, ec);
      if (auto feed_ec = reader.feed({read_buffer.data(), n})) {
        co_return failed(step::handshake, feed_ec);
      }
      while (answered < expected) {
        auto [next_ec, answer] = reader.next();
        if (next_ec) co_return failed(step::handshake, next_ec);
        if (!answer) break;
        if (answer->is_error() && answered >= required) {
          // A restarted Redis still loading its data refuses them for now: connect again
          // (the reconnect loop logs it) rather than go on without them.
          if (answer->str.starts_with("LOADING")) {
            co_return failed(step::handshake, errc::redis_error_reply, "on connect", answer->str);
          }
          obs::log_warn("redis refused a command sent on connect", {{"error", answer->str}});
        } else if (answer->is_error()) {
          // A one-shot owner reports the refusal in its own words.
          if (options.reconnect) {
            obs::log_error("redis refused the connection handshake", {{"error", answer->str}});
          }
          co_return failed(step::handshake, errc::redis_error_reply, names[answered], answer->str);
        }
        ++answered;
      }
    }
    co_return std::error_code{};
  }
};

connection::connection(asio::any_io_executor executor, connection_options options)
    : impl_(std::make_unique<impl>(executor, std::move(options))) {}

connection::~connection() = default;

bool connection::connected() const noexcept {
  return impl_->connected;
}

const std::optional<connect_failure>& connection::last_failure() const noexcept {
  return impl_->last_failure;
}

void connection::stop() {
  impl_->stopped = true;
  impl_->connected = false;
  boost::system::error_code ignored;
  impl_->socket.close(ignored);
  impl_->backoff_timer.cancel();
  impl_->fail_all(errc::shutting_down);
}

asio::awaitable<void> connection::async_run() {
  auto self = shared_from_this();  // keeps impl alive while the loop runs
  auto& s = *impl_;
  retry::backoff backoff(s.options.min_backoff, s.options.max_backoff);
  // Set while the connection is down after having been up, so the log says when it heals
  // and for how long it was lost (issue 14: reconnects were invisible at info).
  std::optional<clock::time_point> lost_at;
  int failed_tries = 0;
  while (!s.stopped) {
    s.reader = reply_parser{};
    s.timed_out = false;
    std::error_code ec = co_await s.connect();
    if (!ec && !s.stopped) {
      s.connected = true;
      backoff.reset();
      if (lost_at) {
        const auto down =
            std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - *lost_at);
        obs::log_info("redis reconnected", {{"name", s.options.client_name},
                                            {"down_ms", std::to_string(down.count())},
                                            {"failed_tries", std::to_string(failed_tries)}});
      } else {
        obs::log_debug("redis connected", {{"name", s.options.client_name}});
      }
      lost_at.reset();
      failed_tries = 0;
      asio::co_spawn(s.executor, s.watchdog(), asio::detached);
      ec = co_await s.read_loop();
      s.connected = false;
    }
    boost::system::error_code ignored;
    s.socket.close(ignored);
    // One attempt only: the owner reports the failure (last_failure(), the commands' errors).
    const bool gave_up = !s.stopped && !s.options.reconnect;
    if (gave_up) s.stopped = true;
    s.fail_all(s.stopped && !gave_up ? std::error_code(errc::shutting_down) : ec);
    if (s.stopped) break;
    obs::global_metrics().redis_errors.inc();
    if (!lost_at) {
      lost_at = clock::now();
      obs::log_warn("redis connection lost, reconnecting",
                    {{"name", s.options.client_name},
                     {"error", ec.message()},
                     {"backoff_ms", std::to_string(backoff.peek().count())}});
    } else {
      ++failed_tries;
      // A refusal says more than "error reply" (LOADING while a restart loads its data).
      const bool refused = s.last_failure && !s.last_failure->refusal.empty();
      obs::log_warn("redis reconnect failed, trying again",
                    {{"name", s.options.client_name},
                     {"error", refused ? s.last_failure->refusal : ec.message()},
                     {"attempt", std::to_string(failed_tries)},
                     {"backoff_ms", std::to_string(backoff.peek().count())}});
    }
    s.backoff_timer.expires_after(backoff.next());
    co_await s.backoff_timer.async_wait(use_tuple);
  }
}

asio::awaitable<std::vector<result>> connection::async_exec(std::vector<command> commands,
                                                            std::chrono::milliseconds timeout) {
  if (commands.empty()) co_return std::vector<result>{};
  auto caller = std::make_shared<waiter>(impl_->executor);
  impl_->enqueue(std::move(commands), timeout, caller);
  if (!caller->done) co_await caller->wake.async_wait(use_tuple);
  co_return std::move(caller->replies);
}

asio::awaitable<result> connection::async_exec(command cmd, std::chrono::milliseconds timeout) {
  std::vector<command> one;
  one.push_back(std::move(cmd));
  auto replies = co_await async_exec(std::move(one), timeout);
  co_return std::move(replies.front());
}

asio::awaitable<bool> connection::async_wait_connected(std::chrono::milliseconds timeout) {
  asio::steady_timer timer(impl_->executor);
  const auto deadline = clock::now() + timeout;
  while (!impl_->connected && !impl_->stopped && clock::now() < deadline) {
    timer.expires_after(10ms);
    co_await timer.async_wait(use_tuple);
  }
  co_return impl_->connected;
}

}  // namespace dispatcher::redis
