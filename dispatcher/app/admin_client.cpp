// The operator commands' admin API client; see admin_client.hpp. Beast's tcp_stream holds
// the deadline: its expiry is set once per request to the command's deadline, so connect,
// write and read share what is left of it.
#include "dispatcher/app/admin_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "dispatcher/app/command_failure.hpp"
#include "dispatcher/common/resolve.hpp"

namespace dispatcher::app {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

command_failure classify_connect(const error_code& ec) {
  if (ec == beast::error::timeout) return {failed_step::connect, failure_kind::timed_out, {}};
  return {failed_step::connect, failure_kind::other, ec.message()};
}

command_failure classify_write(const error_code& ec) {
  if (ec == beast::error::timeout) return {failed_step::request, failure_kind::timed_out, {}};
  if (ec == asio::error::broken_pipe || ec == asio::error::connection_reset) {
    return {failed_step::request, failure_kind::closed, {}};
  }
  return {failed_step::request, failure_kind::other, ec.message()};
}

command_failure classify_read(const error_code& ec) {
  if (ec == beast::error::timeout) return {failed_step::answer, failure_kind::timed_out, {}};
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset) {
    return {failed_step::answer, failure_kind::closed, {}};
  }
  return {failed_step::answer, failure_kind::other, ec.message()};
}

}  // namespace

admin_client::admin_client(asio::any_io_executor executor, admin_api_address api,
                           std::chrono::milliseconds timeout, std::string name)
    : executor_(std::move(executor)),
      api_(std::move(api)),
      name_(name.empty() ? api_.name() : std::move(name)),
      timeout_(timeout),
      deadline_(std::chrono::steady_clock::now() + timeout) {}

asio::awaitable<std::variant<api_answer, std::string>> admin_client::async_exchange(
    http::verb method, std::string target, std::string body) {
  const auto sentence = [&](const command_failure& f) {
    return failure_sentence(f, name_, api_.where.host, timeout_);
  };
  if (endpoints_.empty()) {
    auto [ec, found] =
        co_await async_resolve_until(executor_, api_.where.host, api_.where.port, deadline_);
    if (ec == asio::error::timed_out) {
      co_return sentence({failed_step::lookup, failure_kind::timed_out, {}});
    }
    if (is_unknown_host(ec))
      co_return sentence({failed_step::lookup, failure_kind::unknown_host, {}});
    if (ec) co_return sentence({failed_step::lookup, failure_kind::other, ec.message()});
    endpoints_ = std::move(found);
  }

  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, api_.where.host);
  if (!api_.token.empty()) req.set(http::field::authorization, "Bearer " + api_.token);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
  }
  req.prepare_payload();

  beast::tcp_stream stream(executor_);
  stream.expires_at(deadline_);
  if (auto [ec, ep] = co_await stream.async_connect(endpoints_, use_tuple); ec) {
    co_return sentence(classify_connect(ec));
  }
  if (auto [ec, n] = co_await http::async_write(stream, req, use_tuple); ec) {
    co_return sentence(classify_write(ec));
  }
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (auto [ec, n] = co_await http::async_read(stream, buffer, res, use_tuple); ec) {
    co_return sentence(classify_read(ec));
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return api_answer{static_cast<int>(res.result_int()), std::move(res.body())};
}

}  // namespace dispatcher::app
