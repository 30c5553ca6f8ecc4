// Name lookup under a deadline, for every client that connects by host name (the Redis
// connection, the command line's admin API client). Asio's resolver runs getaddrinfo on a
// background thread that cancellation cannot interrupt, so awaiting it directly (or in an
// `||` with a timer, which waits for the cancelled side to finish) holds the caller for as
// long as the system's DNS timeouts; here the caller waits on a timer that the lookup's
// completion cancels, and a lookup past the deadline finishes in the background unheard.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace dispatcher {

/// The addresses of host (an IP literal needs no lookup), or the lookup's error:
/// boost::asio::error::timed_out when it did not answer by the deadline.
boost::asio::awaitable<
    std::pair<boost::system::error_code, std::vector<boost::asio::ip::tcp::endpoint>>>
async_resolve_until(boost::asio::any_io_executor executor, const std::string& host,
                    std::uint16_t port, std::chrono::steady_clock::time_point deadline);

/// Whether a lookup error means the name has no address (rather than a failing lookup).
bool is_unknown_host(const boost::system::error_code& ec);

}  // namespace dispatcher
