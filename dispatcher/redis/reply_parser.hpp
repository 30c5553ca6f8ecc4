// The RESP reply parser: bytes read from a Redis socket in, complete replies out, as plain
// redis::reply values. It wraps hiredis's redisReader (the only part of hiredis we use) and
// owns the conversion of its reply tree, so the connection only does I/O and the parser
// can be fuzzed and tested without a socket.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <system_error>

#include "dispatcher/redis/reply.hpp"

struct redisReader;

namespace dispatcher::redis {

class reply_parser {
 public:
  reply_parser();
  ~reply_parser();
  reply_parser(reply_parser&&) noexcept;
  reply_parser& operator=(reply_parser&&) noexcept;

  /// Appends bytes as they came off the socket; errc::redis_protocol when refused.
  std::error_code feed(std::string_view bytes);

  /// The next complete reply, or nullopt when more bytes are needed. A protocol error
  /// (errc::redis_protocol) is final: the stream cannot be resynchronised, so the
  /// connection must be dropped and a fresh parser used.
  struct next_reply {
    std::error_code ec;
    std::optional<reply> value;
  };
  next_reply next();

 private:
  struct reader_deleter {
    void operator()(redisReader* r) const noexcept;
  };
  std::unique_ptr<redisReader, reader_deleter> reader_;
};

}  // namespace dispatcher::redis
