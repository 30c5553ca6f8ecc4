// Samples the backlog gauges; see backlog.hpp for why once a second.
#include "dispatcher/delivery/backlog.hpp"

#include "dispatcher/obs/metrics.hpp"

namespace dispatcher::delivery {

boost::asio::awaitable<void> async_sample_backlog(redis::connection& conn,
                                                  const redis::keyspace& keys, std::string group,
                                                  std::vector<std::string> endpoint_ids) {
  std::vector<redis::command> reads;
  reads.reserve(endpoint_ids.size() + 1);
  reads.push_back(redis::command{"XINFO", "GROUPS", keys.stream()});
  for (const auto& id : endpoint_ids) reads.push_back(redis::command{"ZCARD", keys.due(id)});
  const auto replies = co_await conn.async_exec(std::move(reads));
  auto& m = obs::global_metrics();
  if (!replies.empty() && !replies[0].ec && !replies[0].value.is_error()) {
    if (const auto g = find_group_backlog(replies[0].value, group)) {
      m.stream_pending.set(g->pending);
      // Redis answers nil when it cannot count the unread entries: after restarting from
      // its AOF (which does not record how many entries the group read) until the group
      // catches up with the stream, or after an XDEL between the group and the stream's
      // end. Neither 0 nor the last value would be true then.
      m.stream_lag.set(g->lag ? *g->lag : obs::gauge::unknown);
    }
  }
  std::int64_t due = 0;
  for (std::size_t i = 1; i < replies.size(); ++i) {
    const auto n = replies[i].ec ? std::nullopt : replies[i].value.as_integer();
    if (!n) co_return;
    due += *n;
  }
  m.deliveries_due.set(due);
}

}  // namespace dispatcher::delivery
