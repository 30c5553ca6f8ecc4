// Name lookup under a deadline; see resolve.hpp.
#include "dispatcher/common/resolve.hpp"

#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dispatcher {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

asio::awaitable<std::pair<error_code, std::vector<tcp::endpoint>>> async_resolve_until(
    asio::any_io_executor executor, const std::string& host, std::uint16_t port,
    std::chrono::steady_clock::time_point deadline) {
  using out = std::pair<error_code, std::vector<tcp::endpoint>>;
  error_code literal_ec;
  const auto literal = asio::ip::make_address(host, literal_ec);
  if (!literal_ec) co_return out{{}, {tcp::endpoint(literal, port)}};

  // Shared with the completion handler, which may run after this coroutine has given up.
  struct lookup {
    explicit lookup(const asio::any_io_executor& ex) : resolver(ex), wakeup(ex) {}
    tcp::resolver resolver;
    asio::steady_timer wakeup;
    bool done = false;
    error_code ec;
    std::vector<tcp::endpoint> endpoints;
  };
  auto state = std::make_shared<lookup>(executor);
  state->wakeup.expires_at(deadline);
  state->resolver.async_resolve(host, std::to_string(port),
                                [state](const error_code& ec, tcp::resolver::results_type r) {
                                  state->done = true;
                                  state->ec = ec;
                                  for (const auto& entry : r)
                                    state->endpoints.push_back(entry.endpoint());
                                  state->wakeup.cancel();
                                });
  co_await state->wakeup.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!state->done) {
    state->resolver.cancel();
    co_return out{asio::error::timed_out, {}};
  }
  if (!state->ec && state->endpoints.empty()) co_return out{asio::error::host_not_found, {}};
  co_return out{state->ec, std::move(state->endpoints)};
}

bool is_unknown_host(const error_code& ec) {
  return ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again ||
         ec == asio::error::no_data;
}

}  // namespace dispatcher
