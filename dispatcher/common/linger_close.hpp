// Closing a connection after an answer without destroying the answer: the socket is
// half-closed and what the client is still sending is read and dropped, bounded in bytes
// and time, before the close. Closing a socket with unread data resets the connection,
// and the reset can destroy the answer still on its way. What is drained goes through a
// fixed buffer: lingering costs no memory. The admin server and `dispatcher listen`
// both close this way.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace dispatcher {

inline boost::asio::awaitable<void> async_linger_close(boost::beast::tcp_stream& stream,
                                                       std::chrono::steady_clock::duration timeout,
                                                       std::size_t max_bytes) {
  boost::beast::error_code ec;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  stream.expires_after(timeout);
  std::array<char, 16 * 1024> sink;
  for (std::size_t drained = 0; drained < max_bytes;) {
    auto [read_ec, n] = co_await stream.async_read_some(
        boost::asio::buffer(sink), boost::asio::as_tuple(boost::asio::use_awaitable));
    if (read_ec) break;
    drained += n;
  }
  stream.socket().close(ec);
}

}  // namespace dispatcher
