// Running the pipeline's Lua scripts: EVALSHA, and on NOSCRIPT (Redis restarted or was
// flushed) the full EVAL once, which also caches the script again.
#pragma once

#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dispatcher/redis/connection.hpp"
#include "dispatcher/redis/scripts.hpp"

namespace dispatcher::redis {

/// EVALSHA <sha> 1 <stream> <args...>: args as redis/script_io.hpp encodes them, the
/// stream first; the scripts build every other key under its hash tag.
command evalsha_command(const script& s, const command& args);

/// Runs the script once per argument list, pipelined; replies in order.
boost::asio::awaitable<std::vector<result>> async_eval(connection& conn, const script& s,
                                                       std::vector<command> calls);

struct eval_replies {
  std::vector<result> ahead;  // of the plain commands sent first
  std::vector<result> calls;  // of the script's calls, in order
};
/// As async_eval, with plain commands sent ahead of the calls in the same pipeline: what
/// the script's calls need written before them, and no round trip of its own.
boost::asio::awaitable<eval_replies> async_eval(connection& conn, const script& s,
                                                std::vector<command> calls,
                                                std::vector<command> ahead);

boost::asio::awaitable<result> async_eval(connection& conn, const script& s, command args);

}  // namespace dispatcher::redis
