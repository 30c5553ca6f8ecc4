// Trimming and the retention sweep run on a timer of their own, apart from the reader, so a
// slow or failing trim never delays ingest; retention.cpp decides what may go.
#include "dispatcher/ingest/stream_trimmer.hpp"

#include <set>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dispatcher/common/error.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/history/delivery.hpp"
#include "dispatcher/ingest/retention.hpp"
#include "dispatcher/obs/log.hpp"
#include "dispatcher/redis/eval.hpp"
#include "dispatcher/redis/script_io.hpp"
#include "dispatcher/retry/backoff.hpp"

namespace dispatcher::ingest {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

/// One group of an XINFO GROUPS reply: name, last-delivered-id and the pending count.
struct group_info {
  group_position position;
  long long pending = 0;
};

std::vector<group_info> parse_groups(const redis::reply& r) {
  std::vector<group_info> out;
  if (r.type != redis::reply::kind::array) return out;
  for (const auto& g : r.elements) {
    if (g.type != redis::reply::kind::array) continue;
    group_info info;
    for (std::size_t i = 0; i + 1 < g.elements.size(); i += 2) {
      const auto& key = g.elements[i].str;
      const auto& value = g.elements[i + 1];
      if (key == "name") info.position.name = value.str;
      if (key == "last-delivered-id") info.position.last_delivered = value.str;
      if (key == "pending") info.pending = value.as_integer().value_or(0);
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace

stream_trimmer::stream_trimmer(asio::any_io_executor executor, redis::connection& conn,
                               const config::settings& settings)
    : conn_(conn), settings_(settings), keys_(settings.stream), timer_(std::move(executor)) {}

void stream_trimmer::stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<trim_result> stream_trimmer::async_trim_once() {
  auto info = co_await conn_.async_exec(redis::command{"XINFO", "GROUPS", settings_.stream});
  if (info.ec) co_return trim_result{info.ec};
  if (info.value.is_error()) {
    // No stream yet: nothing to trim. Anything else is worth a retry.
    if (info.value.str.find("no such key") != std::string::npos) co_return trim_result{};
    co_return trim_result{errc::redis_error_reply};
  }
  auto groups = parse_groups(info.value);

  // The oldest pending entry of each group that has some. A group whose entries were all
  // acknowledged since answers nil: none.
  std::vector<redis::command> pending;
  std::vector<std::size_t> asked;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (groups[i].pending <= 0) continue;
    pending.push_back(redis::command{"XPENDING", settings_.stream, groups[i].position.name});
    asked.push_back(i);
  }
  if (!pending.empty()) {
    auto replies = co_await conn_.async_exec(std::move(pending));
    for (std::size_t k = 0; k < replies.size(); ++k) {
      if (auto ec = redis::error_of(replies[k])) co_return trim_result{ec};
      const auto& summary = replies[k].value;
      if (summary.type == redis::reply::kind::array && summary.elements.size() >= 2 &&
          summary.elements[1].type == redis::reply::kind::string) {
        groups[asked[k]].position.oldest_pending = summary.elements[1].str;
      }
    }
  }

  std::vector<group_position> positions;
  positions.reserve(groups.size());
  for (auto& g : groups) positions.push_back(std::move(g.position));
  const auto min_id = trim_min_id(unix_now_ms(), settings_.retention, positions, settings_.group);
  if (!min_id) co_return trim_result{};
  auto trimmed =
      co_await conn_.async_exec(redis::command{"XTRIM", settings_.stream, "MINID", *min_id});
  if (auto ec = redis::error_of(trimmed)) co_return trim_result{ec};
  co_return trim_result{{}, static_cast<std::size_t>(trimmed.value.as_integer().value_or(0))};
}

asio::awaitable<trim_result> stream_trimmer::async_sweep_once() {
  const auto last = last_expired_bucket(unix_now_ms(), settings_.retention, redis::bucket_ms);
  if (!last) co_return trim_result{};
  auto r = co_await conn_.async_exec(redis::command{"ZRANGEBYSCORE", keys_.buckets(), "-inf",
                                                    std::to_string(*last), "LIMIT", "0", "100"});
  if (auto ec = redis::error_of(r)) co_return trim_result{ec};
  trim_result out;
  for (const auto& name : r.value.elements) {
    // The events' dedupe entries first: were the bucket gone and they not, a crash here
    // would leave them forever. In steps, so no single command blocks Redis for long.
    const auto bucket = keys_.bucket(name.str);
    const auto end_ms =
        (static_cast<std::int64_t>(std::stoll(name.str, nullptr, 16)) + 1) * redis::bucket_ms;
    std::string scan_cursor = "0";
    std::set<std::string> endpoints;  // retired from already, for this hour
    do {
      // Events (e:) and deliveries (d:), not the payloads.
      auto page = co_await conn_.async_exec(
          redis::command{"HSCAN", bucket, scan_cursor, "MATCH", "[de]:*", "COUNT", "1000"});
      if (auto ec = redis::error_of(page)) co_return trim_result{ec};
      if (page.value.elements.size() != 2) co_return trim_result{errc::redis_error_reply};
      scan_cursor = page.value.elements[0].str;
      redis::command forget{"HDEL", keys_.seen()};
      // The keys these events wrote without a TTL (their consumer's and endpoints'
      // indexes, their connection's history and set) lose what this hour put there.
      redis::retire_request retire{settings_.stream, name.str, end_ms, {}, {}};
      std::set<std::pair<std::string, std::string>> pairs;
      const auto& fields = page.value.elements[1].elements;
      for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].str.starts_with("d:")) {
          auto d = history::parse_delivery_record(fields[i + 1].str);
          if (d && !d->endpoint_id.empty() && endpoints.insert(d->endpoint_id).second) {
            retire.endpoints.push_back(d->endpoint_id);
          }
          continue;
        }
        forget.arg(fields[i].str.substr(2));
        if (auto ev = history::parse_event_record(fields[i + 1].str)) {
          if (pairs.emplace(ev->consumerid, ev->connectionid).second) {
            retire.events.push_back({ev->consumerid, ev->connectionid});
          }
        }
      }
      if (!retire.events.empty() || !retire.endpoints.empty()) {
        auto r = co_await redis::async_eval(conn_, redis::retire_hour, redis::encode(retire));
        if (auto ec = redis::error_of(r)) co_return trim_result{ec};
      }
      if (forget.size() > 2) {
        if (auto ec = redis::error_of(co_await conn_.async_exec(std::move(forget)))) {
          co_return trim_result{ec};
        }
      }
    } while (scan_cursor != "0");
    std::vector<redis::command> drop;
    drop.push_back(redis::command{"UNLINK", bucket});  // freed off Redis's main thread
    drop.push_back(redis::command{"ZREM", keys_.buckets(), name.str});
    for (const auto& d : co_await conn_.async_exec(std::move(drop))) {
      if (auto ec = redis::error_of(d)) co_return trim_result{ec};
    }
    ++out.removed;
  }
  co_return out;
}

asio::awaitable<trim_result> stream_trimmer::async_forget_idle_consumers(
    std::chrono::milliseconds idle_limit) {
  // Named, not a temporary in the co_await: GCC 12 destroys an aggregate temporary there
  // twice.
  const redis::forget_consumers_request request{settings_.stream, settings_.group,
                                                idle_limit.count()};
  auto r = co_await redis::async_eval(conn_, redis::forget_idle_consumers, redis::encode(request));
  if (auto ec = redis::error_of(r)) co_return trim_result{ec};
  auto names = redis::decode_forgotten(std::move(r.value));
  if (!names) co_return trim_result{errc::redis_error_reply};
  for (const auto& name : *names) {
    obs::log_info("forgot an idle consumer with nothing pending",
                  {{"group", settings_.group},
                   {"consumer", name},
                   {"idle_over", std::to_string(idle_limit.count()) + "ms"}});
  }
  co_return trim_result{{}, names->size()};
}

asio::awaitable<void> stream_trimmer::async_run(std::chrono::milliseconds interval) {
  // Trimming can wait: a failed trim is retried after 1 s, then less often, never less
  // often than the interval itself.
  retry::backoff backoff(1000ms, interval);
  // The first trim waits a little, so a starting instance reads its backlog first.
  auto wait = std::min<std::chrono::milliseconds>(interval, 1000ms);
  while (!stopped_) {
    timer_.expires_after(wait);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopped_) break;
    auto result = co_await async_trim_once();
    if (!result.ec) {
      const auto swept = co_await async_sweep_once();
      if (swept.ec) result.ec = swept.ec;
      if (swept.removed > 0) {
        obs::log_info("dropped history past retention", {{"hours", std::to_string(swept.removed)}});
      }
      // An hour: long past any pause of a live instance's reads, and a stopped instance
      // stays visible in XINFO CONSUMERS for a while after it stopped.
      if (!result.ec) result.ec = (co_await async_forget_idle_consumers(1h)).ec;
    }
    if (result.ec) {
      obs::log_warn("could not trim the event stream; retrying",
                    {{"stream", settings_.stream},
                     {"error", result.ec.message()},
                     {"retry_in", std::to_string(backoff.peek().count()) + "ms"}});
      wait = backoff.next();
      continue;
    }
    if (result.removed > 0) {
      obs::log_info("trimmed the event stream",
                    {{"stream", settings_.stream}, {"removed", std::to_string(result.removed)}});
    }
    backoff.reset();
    wait = interval;
  }
}

}  // namespace dispatcher::ingest
