#include "dispatcher/ingest/stream_reader.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dispatcher/common/error.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/history/delivery.hpp"
#include "dispatcher/ingest/event.hpp"
#include "dispatcher/obs/log.hpp"
#include "dispatcher/obs/metrics.hpp"
#include "dispatcher/redis/eval.hpp"

namespace dispatcher::ingest {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// A blocked read returns after this long with nothing, so stop() is noticed within it.
constexpr auto block_time = 1000ms;
// How often entries abandoned by dead instances are looked for.
constexpr auto autoclaim_interval = 5s;

using redis::error_of;

}  // namespace

std::string stream_order_key(std::string_view stream_id) {
  const auto dash = stream_id.find('-');
  std::string ms(stream_id.substr(0, dash));
  std::string seq(dash == std::string_view::npos ? "0" : stream_id.substr(dash + 1));
  if (ms.size() < 18) ms.insert(0, 18 - ms.size(), '0');
  if (seq.size() < 10) seq.insert(0, 10 - seq.size(), '0');
  return ms + "-" + seq;
}

stream_reader::stream_reader(redis::connection& blocking, redis::connection& conn,
                             const config::settings& settings, routing::registry& endpoints,
                             delivery::scheduler& scheduler)
    : blocking_(blocking),
      conn_(conn),
      settings_(settings),
      endpoints_(endpoints),
      scheduler_(scheduler) {}

asio::awaitable<bool> stream_reader::async_ensure_group() {
  // From "0", not "$": entries written before the first dispatcher started are events
  // nobody delivered yet.
  auto r = co_await conn_.async_exec(
      redis::command{"XGROUP", "CREATE", settings_.stream, settings_.group, "0", "MKSTREAM"});
  if (r.ec) co_return false;
  if (r.value.is_error() && !r.value.str.starts_with("BUSYGROUP")) {
    obs::log_error("cannot create the consumer group", {{"error", r.value.str}});
    co_return false;
  }
  co_return true;
}

namespace {

/// [[id, [field, value, ...] | nil], ...] -> entries.
template <class Entry>
std::vector<Entry> parse_entries(const redis::reply& list) {
  std::vector<Entry> out;
  if (list.type != redis::reply::kind::array) return out;
  for (const auto& item : list.elements) {
    if (item.type != redis::reply::kind::array || item.elements.size() < 2) continue;
    Entry e;
    e.id = item.elements[0].str;
    const auto& fields = item.elements[1];
    if (fields.is_nil()) {
      e.deleted = true;
    } else {
      for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        if (fields.elements[i].str == "payload") e.payload = fields.elements[i + 1].str;
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

asio::awaitable<bool> stream_reader::async_process(std::vector<entry> entries) {
  if (entries.empty()) co_return true;
  auto& m = obs::global_metrics();
  const auto snapshot = endpoints_.snapshot();
  m.events_received.inc(entries.size());

  // Valid events go to one ingest script call, which also acknowledges them; a malformed
  // entry is dead-lettered and acknowledged after its XADD answered. Deleted entries
  // (trimmed before XAUTOCLAIM took them) only need the XACK.
  std::vector<std::string> args(8);
  std::size_t events = 0;                               // valid ones, for the script
  std::unordered_map<std::string, std::string> bodies;  // event id -> body, for leased ones
  std::vector<redis::command> dead_letters;
  redis::command acks{"XACK", settings_.stream, settings_.group};
  std::size_t ack_count = 0;
  std::size_t deliveries = 0;
  for (auto& e : entries) {
    if (e.deleted) {
      acks.arg(e.id);
      ++ack_count;
      continue;
    }
    std::string error;
    if (!e.payload) {
      error = "stream entry has no 'payload' field";
    } else {
      auto parsed = parse_event(*e.payload, e.id, settings_.max_payload);
      if (auto* bad = std::get_if<validation_error>(&parsed)) {
        error = bad->message;
      } else {
        auto& ev = std::get<event>(parsed);
        const std::size_t count_at = args.size() + 9;
        for (auto* field :
             {&ev.id, &ev.body, &ev.type, &ev.consumerid, &ev.connectionid, &ev.status}) {
          args.push_back(*field);
        }
        args.push_back(std::to_string(ev.created));
        args.push_back(stream_order_key(e.id));
        args.push_back(e.id);
        args.emplace_back();  // the number of deliveries, known after matching
        std::size_t matched = 0;
        for (const auto& [id, ep] : *snapshot) {
          if (ep.enabled && routing::matches(ep, ev.type, ev.consumerid)) {
            args.push_back(id);
            args.push_back(history::delivery_id(ev.id, id));
            ++matched;
          }
        }
        args[count_at] = std::to_string(matched);
        deliveries += matched;
        ++events;
        bodies.emplace(std::move(ev.id), std::move(ev.body));
        continue;
      }
    }
    m.events_invalid.inc();
    obs::log_warn("dead-lettered a malformed stream entry", {{"entry", e.id}, {"error", error}});
    dead_letters.push_back(redis::command{"XADD", settings_.dead_letter_stream(), "*", "payload",
                                          e.payload.value_or(""), "error", error, "source_id",
                                          e.id});
    acks.arg(e.id);
    ++ack_count;
  }

  bool all_ok = true;
  if (events > 0) {
    fanout_ = std::max<std::size_t>(1, (deliveries + events - 1) / events);
    const auto grant = scheduler_.reserve(deliveries);
    args[0] = std::to_string(unix_now_ms());
    args[1] = std::to_string(settings_.retention.count());
    args[2] = std::to_string(settings_.endpoint_concurrency);
    args[3] = std::to_string(grant.slots);
    args[4] = grant.token;
    args[5] = std::to_string(scheduler_.lease_duration().count());
    args[6] = settings_.stream;
    args[7] = settings_.group;
    auto r = co_await redis::async_eval(conn_, redis::ingest_events, std::move(args));
    std::vector<delivery::claimed_delivery> leased;
    if (!r.ok() || r.value.elements.size() != 3) {
      // Not acknowledged: the entries stay pending and are read again (ours) or claimed.
      all_ok = false;
      obs::log_error("could not record a batch of stream entries; it will be retried",
                     {{"entries", std::to_string(events)}, {"error", r.error_message()}});
    } else {
      std::size_t created = 0;
      for (const auto& count : r.value.elements[0].elements) {
        const auto n = count.as_integer().value_or(0);
        if (n < 0) {
          m.events_duplicate.inc();
        } else {
          created += static_cast<std::size_t>(n);
        }
      }
      m.deliveries_created.inc(created);
      auto& flat = r.value.elements[1].elements;
      for (std::size_t i = 0; i + 2 < flat.size(); i += 3) {
        delivery::claimed_delivery d;
        d.id = std::move(flat[i].str);
        d.endpoint_id = std::move(flat[i + 1].str);
        d.event_id = std::move(flat[i + 2].str);
        if (auto body = bodies.find(d.event_id); body != bodies.end()) d.payload = body->second;
        leased.push_back(std::move(d));
      }
      if (r.value.elements[2].as_integer().value_or(0) > 0) scheduler_.wake();
    }
    scheduler_.adopt(std::move(leased), grant);
  }

  if (!dead_letters.empty()) {
    auto replies = co_await conn_.async_exec(std::move(dead_letters));
    for (const auto& r : replies) {
      if (error_of(r)) {
        all_ok = false;
        obs::log_error("could not write a dead letter; the entry will be retried",
                       {{"error", r.error_message()}});
        co_return all_ok;  // none of them acknowledged: all are retried
      }
    }
  }
  if (ack_count > 0) {
    auto r = co_await conn_.async_exec(std::move(acks));
    if (error_of(r)) {
      all_ok = false;
      obs::log_warn("XACK failed; entries will be re-read", {{"error", r.error_message()}});
    }
  }
  co_return all_ok;
}

asio::awaitable<std::error_code> stream_reader::async_read_pending(std::string_view start) {
  // Our own pending entries (a restart with the same consumer name): read from `start`
  // until the history is empty.
  std::string from(start);
  while (!stopped_) {
    auto r = co_await conn_.async_exec(
        redis::command{"XREADGROUP", "GROUP", settings_.group, settings_.consumer, "COUNT",
                       std::to_string(settings_.batch_size), "STREAMS", settings_.stream, from});
    if (auto ec = error_of(r)) co_return ec;
    if (r.value.is_nil() || r.value.elements.empty()) co_return std::error_code{};
    auto entries = parse_entries<entry>(r.value.elements[0].elements[1]);
    if (entries.empty()) co_return std::error_code{};
    from = entries.back().id;
    co_await async_process(std::move(entries));
  }
  co_return std::error_code{};
}

asio::awaitable<std::error_code> stream_reader::async_autoclaim() {
  const auto min_idle = std::to_string((settings_.request_timeout * 2).count());
  auto r = co_await conn_.async_exec(redis::command{"XAUTOCLAIM", settings_.stream, settings_.group,
                                                    settings_.consumer, min_idle, autoclaim_cursor_,
                                                    "COUNT", std::to_string(settings_.batch_size)});
  if (auto ec = error_of(r)) co_return ec;
  if (r.value.elements.size() < 2) co_return std::error_code{};
  autoclaim_cursor_ = r.value.elements[0].str;
  auto entries = parse_entries<entry>(r.value.elements[1]);
  // Redis 7 lists ids of claimed entries that were deleted meanwhile separately.
  if (r.value.elements.size() > 2) {
    for (const auto& gone : r.value.elements[2].elements) {
      entries.push_back(entry{gone.str, std::nullopt, true});
    }
  }
  if (!entries.empty()) {
    obs::global_metrics().events_claimed.inc(entries.size());
    obs::log_info("took over stream entries left pending by another consumer",
                  {{"count", std::to_string(entries.size())}});
    co_await async_process(std::move(entries));
  }
  co_return std::error_code{};
}

asio::awaitable<void> stream_reader::async_run() {
  asio::steady_timer backoff_timer(co_await asio::this_coro::executor);
  auto backoff = 100ms;
  auto next_autoclaim = std::chrono::steady_clock::now();
  bool group_ready = false;
  bool pending_read = false;
  const std::string block_ms = std::to_string(block_time.count());

  while (!stopped_) {
    std::error_code ec;
    if (!group_ready) {
      group_ready = co_await async_ensure_group();
      if (!group_ready) ec = errc::redis_not_connected;
    }
    if (!ec && !pending_read) {
      ec = co_await async_read_pending("0");
      pending_read = !ec;
    }
    if (!ec && std::chrono::steady_clock::now() >= next_autoclaim) {
      ec = co_await async_autoclaim();
      next_autoclaim = std::chrono::steady_clock::now() + autoclaim_interval;
    }
    if (!ec) {
      // Read only what can start soon: a quarter of the in-flight bound is free, and no
      // more events than fill the free room at the last batch's fan-out.
      const auto room = co_await scheduler_.async_wait_for_room(
          std::min(settings_.batch_size * fanout_, settings_.max_in_flight / 4));
      const auto count = std::clamp<std::size_t>(room / fanout_, 1, settings_.batch_size);
      auto r = co_await blocking_.async_exec(
          redis::command{"XREADGROUP", "GROUP", settings_.group, settings_.consumer, "COUNT",
                         std::to_string(count), "BLOCK", block_ms, "STREAMS", settings_.stream,
                         ">"},
          block_time + 5s);
      if (!r.ec && r.value.is_error() && r.value.str.starts_with("NOGROUP")) {
        // Redis restarted without the stream, or someone deleted the group: recreate it.
        obs::log_warn("consumer group missing; recreating it", {{"error", r.value.str}});
        group_ready = false;
        ec = errc::redis_error_reply;
      } else if ((ec = error_of(r))) {
        if (!stopped_) {
          obs::log_warn("XREADGROUP failed", {{"error", r.error_message()}});
        }
      } else if (!r.value.is_nil() && !r.value.elements.empty()) {
        co_await async_process(parse_entries<entry>(r.value.elements[0].elements[1]));
      }
    }
    if (ec && !stopped_) {
      obs::global_metrics().redis_errors.inc();
      backoff_timer.expires_after(backoff);
      co_await backoff_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5s));
    } else {
      backoff = 100ms;
    }
  }
}

}  // namespace dispatcher::ingest
