// The receiver's server side: an accept loop and one coroutine per connection on a private
// io_context, run by one thread owned by the receiver. The test thread only touches the
// recorded requests and the script, both behind one mutex. Deadlines here are generous
// (a test never waits that long) and exist only so a forgotten connection cannot hang a
// test run.
#include "tests/support/test_receiver.hpp"

#include <optional>
#include <stdexcept>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <openssl/ssl.h>

namespace dispatcher::testing {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Long enough for any test, short enough that a leaked connection ends on its own.
constexpr std::chrono::seconds io_deadline{60};
// Events are at most 256 KiB; leave room for tests that send more to see what happens.
constexpr std::uint64_t request_body_limit = 4 * 1024 * 1024;

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

struct test_receiver::impl {
  explicit impl(const tls_files* tls) {
    if (tls != nullptr) {
      tls_context.emplace(ssl::context::tls_server);
      tls_context->use_certificate_chain_file(tls->cert_file);
      tls_context->use_private_key_file(tls->key_file, ssl::context::pem);
    }
    acceptor.emplace(*io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor->local_endpoint().port();
    asio::co_spawn(*io, accept_loop(), asio::detached);
    thread = std::thread([this] { io->run(); });
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor->async_accept(use_tuple);
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      if (ec) continue;  // e.g. the client gave up during the accept
      std::size_t number = 0;
      {
        std::lock_guard lock(mutex);
        number = ++connection_count;
      }
      asio::co_spawn(*io, session(std::move(socket), number), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket, std::size_t number) {
    beast::tcp_stream stream(std::move(socket));
    if (!tls_context) {
      co_await serve(stream, stream, number, "");
      co_return;
    }
    ssl::stream<beast::tcp_stream> secure(std::move(stream), *tls_context);
    secure.next_layer().expires_after(io_deadline);
    auto [ec] = co_await secure.async_handshake(ssl::stream_base::server, use_tuple);
    if (ec) co_return;  // e.g. the client rejected our certificate
    const char* sni = SSL_get_servername(secure.native_handle(), TLSEXT_NAMETYPE_host_name);
    co_await serve(secure, secure.next_layer(), number, sni != nullptr ? sni : "");
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, beast::tcp_stream& lowest, std::size_t number,
                              std::string sni) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(request_body_limit);
      lowest.expires_after(io_deadline);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
      (void)n;
      if (ec) co_return;  // the client closed the connection, or sent garbage
      auto& request = parser.get();

      recorded_request record;
      record.method = std::string(request.method_string());
      record.target = std::string(request.target());
      for (const auto& field : request) {
        auto name = lowercase(field.name_string());
        auto [it, inserted] = record.headers.emplace(name, std::string(field.value()));
        if (!inserted) it->second += ", " + std::string(field.value());
      }
      record.body = request.body();
      record.received_at = std::chrono::system_clock::now();
      record.received_steady = std::chrono::steady_clock::now();
      record.connection = number;
      record.tls_server_name = sni;

      std::size_t index = 0;
      responder script;
      {
        std::lock_guard lock(mutex);
        index = recorded.size();
        recorded.push_back(record);
        script = script_;
      }
      arrived.notify_all();
      reply answer = script ? script(record, index) : reply{};

      if (answer.delay.count() > 0) {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_after(answer.delay);
        co_await timer.async_wait(use_tuple);
      }
      if (answer.close_without_response) co_return;  // the stream closes with the frame

      http::response<http::string_body> response;
      response.version(request.version());
      response.result(static_cast<unsigned>(answer.status));
      for (const auto& [name, value] : answer.headers) response.insert(name, value);
      // 1xx, 204 and 304 responses cannot carry a body (Beast would throw).
      const bool bodyless =
          answer.status / 100 == 1 || answer.status == 204 || answer.status == 304;
      if (!bodyless) response.body() = answer.body;
      response.keep_alive(request.keep_alive() && response[http::field::connection] != "close");
      response.prepare_payload();
      lowest.expires_after(io_deadline);
      auto [write_ec, written] = co_await http::async_write(stream, response, use_tuple);
      (void)written;
      if (write_ec || !response.keep_alive() || answer.close_after_response) {
        beast::error_code ignored;
        lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return;
      }
    }
  }

  void stop() {
    if (!thread.joinable()) return;
    io->stop();
    thread.join();
    // Destroying the io_context destroys the suspended session coroutines and with them
    // every socket, so clients see the connections close.
    acceptor.reset();
    io.reset();
  }

  std::optional<asio::io_context> io{std::in_place};
  std::optional<ssl::context> tls_context;
  std::optional<tcp::acceptor> acceptor;
  std::uint16_t port = 0;
  std::thread thread;

  mutable std::mutex mutex;
  mutable std::condition_variable arrived;
  std::vector<recorded_request> recorded;
  responder script_;
  std::size_t connection_count = 0;
};

test_receiver::test_receiver() : impl_(std::make_unique<impl>(nullptr)) {}

test_receiver::test_receiver(const tls_files& tls) : impl_(std::make_unique<impl>(&tls)) {}

test_receiver::~test_receiver() {
  stop();
}

std::uint16_t test_receiver::port() const {
  return impl_->port;
}

std::string test_receiver::url(std::string_view path) const {
  return std::string(impl_->tls_context ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(impl_->port) + std::string(path);
}

void test_receiver::set_responder(responder script) {
  std::lock_guard lock(impl_->mutex);
  impl_->script_ = std::move(script);
}

void test_receiver::always(reply answer) {
  set_responder([answer](const recorded_request&, std::size_t) { return answer; });
}

std::vector<recorded_request> test_receiver::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->recorded;
}

bool test_receiver::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->arrived.wait_for(lock, timeout, [&] { return impl_->recorded.size() >= n; });
}

std::size_t test_receiver::connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->connection_count;
}

void test_receiver::stop() {
  impl_->stop();
}

}  // namespace dispatcher::testing
