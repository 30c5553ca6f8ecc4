// EVALSHA first, the script body only on NOSCRIPT: a Redis restart or failover empties the
// script cache, and sending every body every time would cost bandwidth on each call.
#include "dispatcher/redis/eval.hpp"

#include <iterator>

#include <boost/asio/use_awaitable.hpp>

namespace dispatcher::redis {

namespace {

command eval_command(const char* verb, std::string_view body, const command& args) {
  command c;
  c.reserve(body.size() + args.bytes() + 48);  // one allocation for the whole call
  // The first argument is KEYS[1], the stream: Redis Cluster routes the call by it.
  c.arg(verb).arg(body).arg(std::string_view("1")).append(args);
  return c;
}

bool is_noscript(const result& r) {
  return !r.ec && r.value.is_error() && r.value.str.starts_with("NOSCRIPT");
}

}  // namespace

command evalsha_command(const script& s, const command& args) {
  return eval_command("EVALSHA", s.sha1, args);
}

boost::asio::awaitable<std::vector<result>> async_eval(connection& conn, const script& s,
                                                       std::vector<command> calls) {
  std::vector<command> nothing_ahead;
  auto replies = co_await async_eval(conn, s, std::move(calls), std::move(nothing_ahead));
  co_return std::move(replies.calls);
}

boost::asio::awaitable<eval_replies> async_eval(connection& conn, const script& s,
                                                std::vector<command> calls,
                                                std::vector<command> ahead) {
  const std::size_t first_call = ahead.size();
  std::vector<command> commands = std::move(ahead);
  commands.reserve(first_call + calls.size());
  for (const auto& args : calls) commands.push_back(evalsha_command(s, args));
  auto replies = co_await conn.async_exec(std::move(commands));
  eval_replies out;
  const auto split = replies.begin() + static_cast<std::ptrdiff_t>(first_call);
  out.ahead.assign(std::make_move_iterator(replies.begin()), std::make_move_iterator(split));
  out.calls.assign(std::make_move_iterator(split), std::make_move_iterator(replies.end()));
  std::vector<std::size_t> retry;
  for (std::size_t i = 0; i < out.calls.size(); ++i) {
    if (is_noscript(out.calls[i])) retry.push_back(i);
  }
  if (retry.empty()) co_return out;
  std::vector<command> again;
  for (auto i : retry) again.push_back(eval_command("EVAL", s.source, calls[i]));
  auto second = co_await conn.async_exec(std::move(again));
  for (std::size_t k = 0; k < retry.size(); ++k) out.calls[retry[k]] = std::move(second[k]);
  co_return out;
}

boost::asio::awaitable<result> async_eval(connection& conn, const script& s, command args) {
  std::vector<command> calls;
  calls.push_back(std::move(args));
  auto replies = co_await async_eval(conn, s, std::move(calls));
  co_return std::move(replies.front());
}

}  // namespace dispatcher::redis
