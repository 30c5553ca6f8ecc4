// The webhook HTTP(S) client: one POST per attempt, under one deadline, over pooled
// keep-alive connections. This is the only place where a dispatcher talks to the outside
// world, so it owns the defences that the contract promises receivers and operators:
// every resolved address is checked against the private-network policy right before
// connecting (DNS rebinding), certificates are verified against the host name with SNI,
// redirects are never followed, and at most 64 KiB of a response is read. Beast and Asio
// stay inside this file so the rest of the code base compiles quickly.
#include "dispatcher/delivery/http_client.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "dispatcher/common/ascii.hpp"
#include "dispatcher/common/resolve.hpp"
#include "dispatcher/common/utf8.hpp"
#include "dispatcher/delivery/chunked_body.hpp"
#include "dispatcher/delivery/idle_pool.hpp"
#include "dispatcher/delivery/request_head.hpp"

namespace dispatcher::delivery {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using beast::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The contract reads at most 64 KiB of a response and keeps its first 1 KiB: receivers
// that stream megabytes back must not cost us memory or time.
constexpr std::size_t max_body_bytes = 64 * 1024;
constexpr std::size_t excerpt_bytes = 1024;
// A chunked body's bytes as sent, framing included: chunks of one byte, each under a long
// extension, keep the body small while the framing grows without end. Past this the status
// counts and the connection is abandoned, as for a body over max_body_bytes.
constexpr std::size_t max_chunked_bytes = 2 * max_body_bytes;
// Bounds what one socket read pulls in, so a large response overshoots the 64 KiB body
// budget by at most this much. It must hold a whole response header (header_limit).
constexpr std::size_t read_buffer_bytes = 16 * 1024;
constexpr std::uint32_t header_limit_bytes = 8 * 1024;

using tls_stream = ssl::stream<beast::tcp_stream>;

/// A response as the client reads it: the status, Retry-After, the body's size and its
/// first excerpt_bytes, and what Beast's parser tracks itself (keep-alive, chunked, done).
/// Beast's own response parser keeps every field and the reason text in a container, two
/// allocations per response for values never read (issue 9), and copies the body through
/// a buffer of ours; this one takes only what is read, straight from the read buffer.
class response_reader final : public http::basic_parser<false> {
 public:
  int status() const noexcept { return status_; }
  const std::optional<std::string>& retry_after() const noexcept { return retry_after_; }
  std::size_t body_size() const noexcept { return body_size_; }
  /// The body's first excerpt_bytes, taken out.
  std::string take_excerpt() { return std::move(excerpt_); }

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       error_code& ec) override {
    ec = http::error::bad_version;  // a response parser never reads a request line
  }
  void on_response_impl(int code, beast::string_view, int, error_code&) override { status_ = code; }
  void on_field_impl(http::field name, beast::string_view, beast::string_view value,
                     error_code&) override {
    if (name == http::field::retry_after) retry_after_ = std::string(value);
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, error_code&) override {
    if (excerpt_.size() < excerpt_bytes) {
      excerpt_.append(body.data(), std::min(body.size(), excerpt_bytes - excerpt_.size()));
    }
    body_size_ += body.size();
    return body.size();
  }
  // A chunked body is decoded by chunked_body.hpp, never by Beast (async_exchange).
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  int status_ = 0;
  std::optional<std::string> retry_after_;
  std::size_t body_size_ = 0;
  std::string excerpt_;
};

// The address policy (target.hpp) reads bytes; Asio's address is adapted here.
bool is_public(const asio::ip::address& address) {
  return address.is_v4() ? is_public_ipv4(address.to_v4().to_uint())
                         : is_public_ipv6(address.to_v6().to_bytes());
}

/// One TCP (and maybe TLS) connection to an origin, with the bytes read past the end of
/// the last response (a keep-alive connection can carry a few).
struct connection {
  explicit connection(beast::tcp_stream stream) : plain(std::move(stream)) {}
  connection(beast::tcp_stream stream, ssl::context& context)
      : tls(std::in_place, std::move(stream), context) {}

  beast::tcp_stream& lowest() { return plain ? *plain : tls->next_layer(); }

  std::optional<beast::tcp_stream> plain;
  std::optional<tls_stream> tls;
  beast::flat_buffer buffer{read_buffer_bytes};
  // The request head, formatted anew per request into the same capacity.
  std::string head;
};

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

/// The errors that mean the peer had closed the connection before our request reached
/// it; on a reused keep-alive connection they are retried once on a fresh one.
bool is_peer_close(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

std::string describe(const error_code& ec) {
  if (ec == asio::error::connection_refused) return "connection refused";
  if (ec == asio::error::connection_reset) return "connection reset by peer";
  if (ec == http::error::end_of_stream || ec == asio::error::eof) {
    return "connection closed by the server before a response";
  }
  if (ec == http::error::partial_message) {
    return "connection closed by the server in the middle of the response";
  }
  if (ec == asio::error::broken_pipe) return "connection closed by the server (broken pipe)";
  if (ec == ssl::error::stream_truncated) return "TLS stream closed without close_notify";
  if (ec == asio::error::network_unreachable) return "network unreachable";
  if (ec == asio::error::host_unreachable) return "host unreachable";
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    return "invalid HTTP response: " + ec.message();
  }
  return ascii_lower(ec.message());
}

/// Wraps asio's host name check so a mismatch is recorded in the verify result: OpenSSL
/// then reports "hostname mismatch" instead of an unspecified verification error.
struct verify_host {
  ssl::host_name_verification check;
  bool ip_literal = false;

  bool operator()(bool preverified, ssl::verify_context& context) const {
    if (!preverified) return false;  // the chain error is already recorded
    if (check(preverified, context)) return true;
    X509_STORE_CTX_set_error(context.native_handle(), ip_literal ? X509_V_ERR_IP_ADDRESS_MISMATCH
                                                                 : X509_V_ERR_HOSTNAME_MISMATCH);
    return false;
  }
};

/// What one request/response exchange on a connection produced.
struct exchange_outcome {
  attempt_result result;
  bool reusable = false;           // a complete response; the connection may carry the next request
  bool peer_closed_early = false;  // failed before any response byte: safe to resend
};

}  // namespace

struct http_client::impl {
  impl(asio::any_io_executor executor, client_options options)
      : executor_(std::move(executor)),
        options_(std::move(options)),
        tls_context_(ssl::context::tls_client),
        pool_(options_.max_idle_per_origin, options_.idle_timeout) {
    tls_context_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                             ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                             ssl::context::no_tlsv1_1);
    tls_context_.set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (options_.ca_file.empty()) {
      tls_context_.set_default_verify_paths(ec);
    } else {
      tls_context_.load_verify_file(options_.ca_file, ec);
    }
    if (ec) {
      // A startup error: without a trust store no HTTPS webhook could ever be delivered.
      throw std::runtime_error(
          "cannot load CA certificates" +
          (options_.ca_file.empty() ? std::string() : " from " + options_.ca_file) + ": " +
          ec.message());
    }
  }

  std::string timed_out(std::string_view step) const {
    return "timed out after " + std::to_string(options_.request_timeout.count()) + " ms " +
           std::string(step);
  }

  // -- opening a connection ------------------------------------------------------------

  /// Resolves host under the deadline (common/resolve: a lookup past it is abandoned,
  /// not waited for); the address policy is applied to the answer by async_open.
  asio::awaitable<std::variant<std::vector<tcp::endpoint>, std::string>> async_resolve(
      const target& to, steady::time_point deadline) {
    auto [ec, endpoints] = co_await async_resolve_until(executor_, to.host, to.port, deadline);
    if (ec == asio::error::timed_out) co_return timed_out("while resolving " + to.host);
    if (is_unknown_host(ec)) co_return "could not resolve host " + to.host;
    if (ec) co_return "could not resolve host " + to.host + ": " + ascii_lower(ec.message());
    co_return std::move(endpoints);
  }

  /// A new connection to the target: resolve, filter by address policy, connect to the
  /// first allowed address that accepts, then the TLS handshake for https.
  asio::awaitable<std::variant<std::unique_ptr<connection>, std::string>> async_open(
      const target& to, steady::time_point deadline) {
    auto resolved = co_await async_resolve(to, deadline);
    if (auto* error = std::get_if<std::string>(&resolved)) co_return std::move(*error);
    auto& all = std::get<std::vector<tcp::endpoint>>(resolved);

    std::vector<tcp::endpoint> allowed;
    std::string refused;
    for (const auto& endpoint : all) {
      if (options_.allow_private_targets || is_public(endpoint.address())) {
        allowed.push_back(endpoint);
      } else {
        if (!refused.empty()) refused += ", ";
        refused += endpoint.address().to_string();
      }
    }
    if (allowed.empty()) {
      co_return "target resolves only to non-public addresses (" + refused +
          "); set DISPATCHER_ALLOW_PRIVATE_TARGETS=true to allow them";
    }

    beast::tcp_stream stream(executor_);
    error_code last_error;
    bool connected = false;
    for (const auto& endpoint : allowed) {
      if (steady::now() >= deadline) break;
      stream.expires_at(deadline);
      auto [ec] = co_await stream.async_connect(endpoint, use_tuple);
      if (!ec) {
        connected = true;
        break;
      }
      if (ec == beast::error::timeout) co_return timed_out("while connecting");
      last_error = ec;
      error_code ignored;
      stream.socket().close(ignored);
    }
    if (!connected) {
      co_return last_error ? describe(last_error) : timed_out("while connecting");
    }
    error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);

    if (!to.tls) co_return std::make_unique<connection>(std::move(stream));

    auto conn = std::make_unique<connection>(std::move(stream), tls_context_);
    auto& tls = *conn->tls;
    const bool ip_literal = is_ip_literal(to.host);
    // SNI must name a host, never an address (RFC 6066 section 3).
    if (!ip_literal && !SSL_set_tlsext_host_name(tls.native_handle(), to.host.c_str())) {
      co_return "TLS handshake failed: cannot set the server name";
    }
    // verify_peer alone accepts any trusted certificate, whatever name it was issued for.
    tls.set_verify_callback(verify_host{ssl::host_name_verification(to.host), ip_literal});
    conn->lowest().expires_at(deadline);
    auto [ec] = co_await tls.async_handshake(ssl::stream_base::client, use_tuple);
    if (ec == beast::error::timeout) co_return timed_out("during the TLS handshake");
    if (ec) {
      const long verify = SSL_get_verify_result(tls.native_handle());
      if (verify != X509_V_OK) {
        co_return std::string("TLS handshake failed: certificate verify failed (") +
            X509_verify_cert_error_string(verify) + ")";
      }
      const char* reason = ec.category() == asio::error::get_ssl_category()
                               ? ERR_reason_error_string(static_cast<unsigned long>(ec.value()))
                               : nullptr;
      co_return "TLS handshake failed: " + (reason ? std::string(reason) : describe(ec));
    }
    co_return std::move(conn);
  }

  // -- one exchange ------------------------------------------------------------------------

  template <class Stream>
  asio::awaitable<exchange_outcome> async_exchange(Stream& stream, connection& conn,
                                                   std::string_view body,
                                                   steady::time_point deadline) {
    exchange_outcome out;
    auto& result = out.result;
    auto& lowest = conn.lowest();

    lowest.expires_at(deadline);
    // Head and body in one write: a gathered one (one sendmsg) on a plain connection. A TLS
    // stream encrypts one buffer per write, so there the body joins the head and both go
    // in one record.
    std::array<asio::const_buffer, 2> request{asio::buffer(conn.head), asio::buffer(body)};
    if (conn.tls) {
      conn.head.append(body);
      request = {asio::buffer(conn.head), asio::const_buffer()};
    }
    auto [write_ec, written] = co_await asio::async_write(stream, request, use_tuple);
    (void)written;
    if (write_ec) {
      if (write_ec == beast::error::timeout) {
        result.error = timed_out("while sending the request");
      } else {
        result.error = describe(write_ec);
        out.peer_closed_early = true;
      }
      co_return out;
    }

    // Interim 1xx responses (100 Continue, 103 Early Hints) precede the real one.
    std::optional<response_reader> parser;
    for (;;) {
      parser.emplace();
      parser->header_limit(header_limit_bytes);
      parser->body_limit(boost::none);  // enforced below, keeping what was read
      lowest.expires_at(deadline);
      auto [ec, n] = co_await http::async_read_header(stream, conn.buffer, *parser, use_tuple);
      (void)n;
      if (ec) {
        if (ec == beast::error::timeout) {
          result.error = timed_out("while waiting for the response");
        } else {
          result.error = describe(ec);
          out.peer_closed_early = !parser->got_some() && is_peer_close(ec);
        }
        co_return out;
      }
      const int status = parser->status();
      if (status / 100 != 1 || status == 101) break;
    }

    result.status_code = parser->status();
    result.retry_after = parser->retry_after();

    if (!parser->is_done() && parser->chunked()) {
      // Beast 1.81 asserts on a final chunk trickled in (chunked_body.hpp): the chunked
      // framing is decoded here from the bytes after the header, never by Beast.
      co_await async_read_chunked_body(stream, conn, deadline, parser->keep_alive(), out);
      co_return out;
    }

    bool too_large = false;
    while (!parser->is_done()) {
      lowest.expires_at(deadline);
      auto [ec, n] = co_await http::async_read_some(stream, conn.buffer, *parser, use_tuple);
      (void)n;
      if (ec) {
        result.error = ec == beast::error::timeout ? timed_out("while reading the response body")
                                                   : describe(ec);
        break;
      }
      if (parser->body_size() > max_body_bytes) {
        // The status counts; the rest of the body is abandoned with the connection.
        too_large = true;
        break;
      }
    }
    std::string excerpt = parser->take_excerpt();
    excerpt.resize(utf8_prefix_length(excerpt));
    result.response_excerpt = std::move(excerpt);
    out.reusable = result.error.empty() && !too_large && parser->is_done() && parser->keep_alive();
    co_return out;
  }

  /// Reads a chunked body after its header: the same caps, excerpt and deadline as a body
  /// Beast reads, and the connection is reusable only when the body's end was read (what
  /// follows it stays in conn.buffer for the next response).
  template <class Stream>
  asio::awaitable<void> async_read_chunked_body(Stream& stream, connection& conn,
                                                steady::time_point deadline, bool keep_alive,
                                                exchange_outcome& out) {
    auto& result = out.result;
    chunked_decoder decoder(header_limit_bytes);
    std::string excerpt;
    std::size_t body_size = 0;
    std::size_t framed_size = 0;  // of the body as sent
    const auto over_cap = [&] {
      return body_size > max_body_bytes || framed_size > max_chunked_bytes;
    };
    for (;;) {
      const std::string_view in(static_cast<const char*>(conn.buffer.data().data()),
                                conn.buffer.size());
      std::size_t used = 0;
      while (used < in.size() && !decoder.finished() && !over_cap()) {
        const auto step = decoder.next(in.substr(used));
        used += step.consumed;
        if (excerpt.size() < excerpt_bytes) {
          excerpt.append(step.data.substr(0, excerpt_bytes - excerpt.size()));
        }
        body_size += step.data.size();
      }
      framed_size += used;
      conn.buffer.consume(used);
      if (decoder.failed()) {
        result.error = "invalid HTTP response: " + std::string(decoder.error());
      }
      // Over the cap, the status counts; the rest is abandoned with the connection.
      if (decoder.finished() || over_cap()) break;
      conn.lowest().expires_at(deadline);
      auto [ec, n] = co_await stream.async_read_some(
          conn.buffer.prepare(conn.buffer.max_size() - conn.buffer.size()), use_tuple);
      conn.buffer.commit(n);
      if (ec) {
        result.error = ec == beast::error::timeout ? timed_out("while reading the response body")
                       : ec == asio::error::eof    ? describe(http::error::partial_message)
                                                   : describe(ec);
        break;
      }
    }
    excerpt.resize(utf8_prefix_length(excerpt));
    result.response_excerpt = std::move(excerpt);
    out.reusable = result.error.empty() && decoder.done() && keep_alive;
  }

  // Not a coroutine itself: it hands back the stream's, one frame fewer per attempt.
  asio::awaitable<exchange_outcome> async_exchange(connection& conn, std::string_view body,
                                                   steady::time_point deadline) {
    if (conn.tls) return async_exchange(*conn.tls, conn, body, deadline);
    return async_exchange(*conn.plain, conn, body, deadline);
  }

  asio::awaitable<attempt_result> async_post(const target& to, const header_list& headers,
                                             std::string body) {
    const auto started = steady::now();
    const auto deadline = started + options_.request_timeout;
    const auto finish = [&](attempt_result result) {
      result.duration =
          std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started);
      return result;
    };
    pool_.sweep(started);

    // Checked before a connection is taken: a bad header fails the attempt, not the socket.
    if (std::string invalid = header_problem(headers); !invalid.empty()) {
      attempt_result bad;
      bad.error = std::move(invalid);
      co_return finish(std::move(bad));
    }

    const std::string& origin = to.origin;
    auto conn = pool_.take(origin, started);
    bool reused = conn != nullptr;
    for (;;) {
      if (!conn) {
        auto opened = co_await async_open(to, deadline);
        if (auto* error = std::get_if<std::string>(&opened)) {
          attempt_result failed;
          failed.error = std::move(*error);
          co_return finish(std::move(failed));
        }
        conn = std::move(std::get<std::unique_ptr<connection>>(opened));
      }
      format_request_head(conn->head, to, options_.user_agent, headers, body.size());
      auto outcome = co_await async_exchange(*conn, body, deadline);
      if (reused && outcome.peer_closed_early && steady::now() < deadline) {
        // The server closed this idle connection before our request reached it, so the
        // request was never processed: resend once on a new connection.
        conn.reset();
        reused = false;
        continue;
      }
      if (outcome.reusable) pool_.put(origin, std::move(conn), steady::now());
      co_return finish(std::move(outcome.result));
    }
  }

  asio::any_io_executor executor_;
  client_options options_;
  ssl::context tls_context_;
  idle_pool<connection> pool_;
};

http_client::http_client(boost::asio::any_io_executor executor, client_options options)
    : impl_(std::make_unique<impl>(std::move(executor), std::move(options))) {}

http_client::~http_client() = default;

boost::asio::awaitable<attempt_result> http_client::async_post(const target& to,
                                                               const header_list& headers,
                                                               std::string body) {
  // Not a coroutine itself: one frame fewer per attempt.
  return impl_->async_post(to, headers, std::move(body));
}

void http_client::close_idle() {
  impl_->pool_.clear();
}

}  // namespace dispatcher::delivery
