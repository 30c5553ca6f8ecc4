// The dispatcher's own error codes. Expected failures on hot paths (a Redis hiccup, a
// command past its deadline, shutdown) travel as std::error_code values in this category
// rather than as exceptions, so callers can decide without try/catch what to retry.
//
// A failed webhook attempt is not here: it is a sentence (delivery::attempt_result::error)
// that becomes the delivery's last_error, and no decision depends on its kind (every
// attempt without a response is retried), so a code would be a second, unread channel.
#pragma once

#include <system_error>

namespace dispatcher {

enum class errc {
  /// The Redis connection is not established (yet, or any more).
  redis_not_connected = 1,
  /// A Redis command got no reply within its deadline; the connection was dropped.
  redis_timeout,
  /// Redis sent bytes that are not valid RESP.
  redis_protocol,
  /// Redis answered a command with an error reply.
  redis_error_reply,
  /// Too many commands were waiting on one Redis connection.
  redis_overloaded,
  /// The operation was stopped because the service is shutting down.
  shutting_down,
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace dispatcher

template <>
struct std::is_error_code_enum<dispatcher::errc> : std::true_type {};
