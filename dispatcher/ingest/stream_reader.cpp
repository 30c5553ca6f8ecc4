// The ingest loop: XREADGROUP one cycle of the endpoints ahead, ingest calls no larger than
// the scheduler has room for, validation, dead letters, and the ingest script that dedupes
// and fans out. XAUTOCLAIM takes over what a dead instance read but never acknowledged.
#include "dispatcher/ingest/stream_reader.hpp"

#include <algorithm>
#include <span>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dispatcher/common/error.hpp"
#include "dispatcher/common/take_front.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/common/utf8.hpp"
#include "dispatcher/delivery/latency.hpp"
#include "dispatcher/history/connection.hpp"
#include "dispatcher/history/delivery.hpp"
#include "dispatcher/ingest/event.hpp"
#include "dispatcher/ingest/retention.hpp"
#include "dispatcher/obs/log.hpp"
#include "dispatcher/obs/metrics.hpp"
#include "dispatcher/redis/eval.hpp"
#include "dispatcher/redis/keys.hpp"
#include "dispatcher/redis/script_io.hpp"
#include "dispatcher/retry/backoff.hpp"
#include "dispatcher/retry/ordering.hpp"

namespace dispatcher::ingest {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// A blocked read returns after this long with nothing, so stop() is noticed within it.
constexpr auto block_time = 1000ms;
// How often entries abandoned by dead instances are looked for.
constexpr auto autoclaim_interval = 5s;
// Arguments per ingest script call. One call blocks Redis while it runs, and Redis copies
// every argument before the script starts: 10,000 is about 800 events to one endpoint or
// 47 events to 100, a few milliseconds of script. An event is never split across calls.
constexpr std::size_t max_script_args = 10'000;
// Dead letters keep the start of an entry's payload: enough to see what it was.
constexpr std::size_t dead_letter_excerpt = 4096;
// Reloads of the endpoints for one batch before it is left pending for later: each one
// means an endpoint changed while the batch was recorded, which no operator does for long.
constexpr int max_stale_rounds = 16;

using redis::error_of;

}  // namespace

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

/// The entry list of an XREADGROUP reply [[stream, entries]], or nullptr when the reply has
/// another shape (nil: nothing to read).
redis::reply* stream_entries(redis::reply& r) {
  if (r.type != redis::reply::kind::array || r.elements.empty()) return nullptr;
  auto& stream = r.elements[0];
  if (stream.type != redis::reply::kind::array || stream.elements.size() < 2) return nullptr;
  return &stream.elements[1];
}

}  // namespace

/// [[id, [field, value, ...] | nil], ...] -> entries, moving the strings out of the reply.
/// An oversized payload is cut to its dead-letter excerpt here, before anything copies it.
std::vector<stream_reader::entry> stream_reader::take_entries(redis::reply& list) const {
  std::vector<entry> out;
  if (list.type != redis::reply::kind::array) return out;
  out.reserve(list.elements.size());
  for (auto& item : list.elements) {
    if (item.type != redis::reply::kind::array || item.elements.size() < 2 ||
        item.elements[0].type != redis::reply::kind::string) {
      continue;
    }
    entry e;
    e.id = std::move(item.elements[0].str);
    auto& fields = item.elements[1];
    if (fields.is_nil()) {
      e.deleted = true;
    } else {
      for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        if (fields.elements[i].str != "payload") continue;
        auto& value = fields.elements[i + 1].str;
        e.payload_size = value.size();
        if (value.size() > settings_.max_payload) {
          e.payload = std::string(utf8_prefix(value, dead_letter_excerpt));
          std::string().swap(value);  // free it now, not with the whole batch
        } else {
          e.payload = std::move(value);
        }
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

struct stream_reader::valid_event {
  event ev;
  std::string entry_id;
  std::size_t leases = 0;  // leased deliveries of this round still to take ev.body
};

asio::awaitable<bool> stream_reader::async_process(std::vector<entry> entries) {
  if (entries.empty()) co_return true;
  auto& m = obs::global_metrics();
  m.events_received.inc(entries.size());

  // Valid events go to the ingest script, which also acknowledges them; a malformed entry
  // is dead-lettered and acknowledged after its XADD answered. Deleted entries (trimmed
  // before XAUTOCLAIM took them) only need the XACK.
  std::vector<valid_event> valid;
  std::vector<redis::command> dead_letters;
  redis::command acks{"XACK", settings_.stream, settings_.group};
  std::size_t ack_count = 0;
  const std::string dead_letter_max = std::to_string(settings_.dead_letter_max);
  for (auto& e : entries) {
    if (e.deleted) {
      acks.arg(e.id);
      ++ack_count;
      continue;
    }
    std::string error;
    if (!e.payload) {
      error = "stream entry has no 'payload' field";
    } else if (e.payload_size > settings_.max_payload) {
      error = "payload is " + std::to_string(e.payload_size) + " bytes, more than the " +
              std::to_string(settings_.max_payload) + " allowed";
    } else {
      auto parsed = parse_event(*e.payload, e.id, settings_.max_payload);
      if (auto* bad = std::get_if<validation_error>(&parsed)) {
        error = std::move(bad->message);
      } else {
        valid.push_back(valid_event{std::move(std::get<event>(parsed)), e.id});
        continue;
      }
    }
    m.events_invalid.inc();
    obs::log_warn("dead-lettered a malformed stream entry", {{"entry", e.id}, {"error", error}});
    // MAXLEN ~ keeps the dead-letter stream about that long at the cost of whole nodes.
    dead_letters.push_back(redis::command{
        "XADD", settings_.dead_letter_stream(), "MAXLEN", "~", dead_letter_max, "*", "payload",
        e.payload ? utf8_prefix(*e.payload, dead_letter_excerpt) : std::string_view(), "error",
        error, "source_id", e.id});
    acks.arg(e.id);
    ++ack_count;
  }

  bool all_ok = valid.empty() || co_await async_record(std::move(valid));

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

asio::awaitable<bool> stream_reader::async_record(std::vector<valid_event> events) {
  auto& m = obs::global_metrics();
  // Event id -> event, sorted for lookups: one allocation per batch, where a hash map took
  // one per event. The first of equal ids wins, as the stream order had it.
  std::vector<std::pair<std::string_view, valid_event*>> bodies;
  bodies.reserve(events.size());
  for (auto& v : events) bodies.emplace_back(v.ev.id, &v);
  std::stable_sort(bodies.begin(), bodies.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  const auto event_of = [&bodies](std::string_view id) -> valid_event* {
    const auto it =
        std::lower_bound(bodies.begin(), bodies.end(), id,
                         [](const auto& entry, std::string_view key) { return entry.first < key; });
    return it != bodies.end() && it->first == id ? it->second : nullptr;
  };

  std::vector<const valid_event*> todo;
  todo.reserve(events.size());
  for (const auto& v : events) todo.push_back(&v);
  bool all_ok = true;
  for (int round = 0; !todo.empty(); ++round) {
    if (round > 0) {
      if (round > max_stale_rounds) {
        obs::log_error("endpoints kept changing while a batch was recorded; it will be retried",
                       {{"events", std::to_string(todo.size())}});
        co_return false;
      }
      if (!co_await endpoints_.async_refresh()) {
        obs::log_error("could not reload the endpoints; the batch will be retried",
                       {{"events", std::to_string(todo.size())}});
        co_return false;
      }
    }
    const auto snapshot = endpoints_.snapshot();
    const auto version = std::to_string(endpoints_.version());

    // Match every event, then cut the batch into calls of bounded size. The endpoints
    // matched, all events' in one list (event k's end where matched_end[k] says): one
    // allocation per batch rather than one per event.
    std::vector<const std::string*> matched_ids;
    std::vector<std::size_t> matched_end(todo.size());
    const auto matched = [&](std::size_t k) {
      const std::size_t begin = k == 0 ? 0 : matched_end[k - 1];
      return std::span<const std::string* const>(matched_ids)
          .subspan(begin, matched_end[k] - begin);
    };
    std::vector<std::size_t> sizes(todo.size());
    std::unordered_map<std::string, std::size_t> per_endpoint;  // for the reader's pacing
    for (std::size_t k = 0; k < todo.size(); ++k) {
      const auto& ev = todo[k]->ev;
      for (const auto& [id, ep] : *snapshot) {
        if (ep.enabled && routing::matches(ep, ev.type, ev.consumerid)) {
          matched_ids.push_back(&id);
          ++per_endpoint[id];
        }
      }
      matched_end[k] = matched_ids.size();
      sizes[k] = redis::ingest_event_args(matched(k).size());
    }
    const std::size_t deliveries = matched_ids.size();
    fanout_ = std::max<std::size_t>(1, (deliveries + todo.size() - 1) / todo.size());
    const auto ends = split_calls(sizes, max_script_args - redis::ingest_header_args);

    const auto grant = scheduler_.reserve(deliveries);
    std::size_t room = grant.slots;  // shared out in order, so the calls never lease more
    const auto now = unix_now_ms();
    const auto bucket = redis::bucket_name(now);
    // The order keys and delivery ids of the round, made into one buffer that the calls
    // view once it is complete (one allocation rather than one per key): for each event its
    // order key, then its delivery ids.
    std::string made;
    made.reserve(todo.size() * 24 + deliveries * (bucket.size() + 22));
    std::vector<std::size_t> made_end;  // where each key ends in `made`
    made_end.reserve(todo.size() + deliveries);
    for (std::size_t k = 0; k < todo.size(); ++k) {
      history::append_stream_order_key(made, todo[k]->entry_id);
      made_end.push_back(made.size());
      for (const auto* endpoint_id : matched(k)) {
        history::append_delivery_id(made, todo[k]->ev.id, *endpoint_id, bucket);
        made_end.push_back(made.size());
      }
    }
    const auto made_key = [&](std::size_t i) {
      const std::size_t from = i == 0 ? 0 : made_end[i - 1];
      return std::string_view(made).substr(from, made_end[i] - from);
    };
    std::vector<redis::command> calls, indexes;
    calls.reserve(ends.size());
    for (std::size_t c = 0, begin = 0; c < ends.size(); begin = ends[c++]) {
      redis::ingest_request call{settings_.stream,
                                 now,
                                 settings_.retention.count(),
                                 settings_.endpoint_concurrency,
                                 0,
                                 grant.token,
                                 scheduler_.lease_duration().count(),
                                 settings_.group,
                                 version,
                                 bucket,
                                 {}};
      call.head_recheck_ms = retry::head_recheck.count();
      std::size_t call_deliveries = 0;
      call.events.reserve(ends[c] - begin);
      for (std::size_t k = begin; k < ends[c]; ++k) {
        const auto& ev = todo[k]->ev;
        call_deliveries += matched(k).size();
        // Views of the event and of `made`, which outlive the encoding: their bytes are
        // copied once, into the command.
        auto& e = call.events.emplace_back();
        e.id = ev.id;
        e.body = ev.body;
        e.type = ev.type;
        e.consumerid = ev.consumerid;
        e.connectionid = ev.connectionid;
        e.status = ev.status;
        e.created = ev.created;
        const std::size_t key = k + (k == 0 ? 0 : matched_end[k - 1]);  // its order key's
        e.order = made_key(key);
        e.entry_id = todo[k]->entry_id;
        const auto endpoints = matched(k);
        e.deliveries.reserve(endpoints.size());
        for (std::size_t j = 0; j < endpoints.size(); ++j) {
          e.deliveries.push_back({*endpoints[j], made_key(key + 1 + j)});
        }
      }
      call.room = std::min(room, call_deliveries);
      room -= call.room;
      for (auto& index : redis::encode_event_indexes(call)) indexes.push_back(std::move(index));
      calls.push_back(redis::encode(call));
    }

    auto written = co_await redis::async_eval(conn_, redis::ingest_events, std::move(calls),
                                              std::move(indexes));
    // Refused by Redis (a lost connection fails the calls too, and the batch is read again):
    // the calls still recorded the events, and only a list by consumer, or a consumer's
    // connections, can miss them.
    std::size_t refused = 0;
    const redis::result* first_refused = nullptr;
    for (const auto& r : written.ahead) {
      if (!r.ec && r.value.is_error() && refused++ == 0) first_refused = &r;
    }
    if (first_refused) {
      obs::log_error(
          "could not write events' consumer indexes or connection sets",
          {{"commands", std::to_string(refused)}, {"error", first_refused->error_message()}});
    }
    auto& replies = written.calls;
    std::vector<const valid_event*> stale;
    std::vector<redis::leased_delivery> leased;
    leased.reserve(grant.slots);  // no call leases more than its share of the grant
    std::size_t created = 0;
    bool queued = false;
    std::vector<std::string> queued_for;
    for (std::size_t c = 0, begin = 0; c < ends.size(); begin = ends[c++]) {
      auto& r = replies[c];
      auto reply = r.ok() ? redis::decode_ingest(std::move(r.value)) : std::nullopt;
      if (reply && reply->stale) {
        stale.insert(stale.end(), todo.begin() + static_cast<std::ptrdiff_t>(begin),
                     todo.begin() + static_cast<std::ptrdiff_t>(ends[c]));
        continue;
      }
      if (!reply) {
        // Not acknowledged: the entries stay pending and are read again (ours) or claimed.
        all_ok = false;
        obs::log_error("could not record a batch of stream entries; it will be retried",
                       {{"entries", std::to_string(ends[c] - begin)},
                        {"error", r.ok() ? "unexpected reply" : r.error_message()}});
        continue;
      }
      for (const auto n : reply->counts) {
        if (n < 0) {
          m.events_duplicate.inc();
        } else {
          created += static_cast<std::size_t>(n);
        }
      }
      for (auto& d : reply->leased) {
        d.created_at_ms = now;
        if (auto* v = event_of(d.event_id)) {
          ++v->leases;
          d.entry_ms = delivery::stream_entry_ms(v->entry_id);
        }
        leased.push_back(std::move(d));
      }
      queued = queued || reply->queued;
      for (auto& endpoint : reply->queued_for) queued_for.push_back(std::move(endpoint));
    }
    // Each leased delivery takes its event's bytes: a copy while another delivery of the
    // event is still to take them, the bytes themselves for the last one. The event is done
    // with then: a call that leased is not stale, so its events are not matched again.
    for (auto& d : leased) {
      if (auto* v = event_of(d.event_id)) {
        if (--v->leases == 0) {
          d.payload = std::move(v->ev.body);
        } else {
          d.payload = v->ev.body;
        }
      }
    }
    std::size_t enabled = 0;
    for (const auto& [id, ep] : *snapshot) enabled += ep.enabled ? 1 : 0;
    scheduler_.observe_read(todo.size(), per_endpoint, queued_for, enabled);
    m.deliveries_created.inc(created);
    if (queued) scheduler_.wake();
    scheduler_.adopt(std::move(leased), grant);
    if (!stale.empty()) {
      obs::log_debug("endpoints changed while a batch was matched; matching it again",
                     {{"events", std::to_string(stale.size())}});
    }
    todo = std::move(stale);
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
    auto* list = stream_entries(r.value);
    if (list == nullptr) co_return std::error_code{};
    auto entries = take_entries(*list);
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
  if (r.value.elements.size() < 2 || r.value.elements[0].type != redis::reply::kind::string) {
    co_return std::error_code{};
  }
  autoclaim_cursor_ = r.value.elements[0].str;
  auto entries = take_entries(r.value.elements[1]);
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
  // As the scheduler's claim: soon after a failure, at most every 5 s while Redis is away.
  retry::backoff backoff(100ms, 5s);
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
    if (!ec && ahead_.empty()) {
      // Read ahead while the slots are busy, so that a slot's cycle holds no read: no more
      // events than the endpoints take with every slot free, nor than this process's bound
      // takes at the last fan-out. What waits here is pending under our name for at most
      // that cycle, well below the idle time XAUTOCLAIM takes entries over at.
      const auto count = std::clamp<std::size_t>(
          std::min(settings_.max_in_flight / fanout_, scheduler_.readable_when_idle()), 1,
          settings_.batch_size);
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
      } else if (auto* list = stream_entries(r.value)) {
        ahead_ = take_entries(*list);
      }
    }
    if (!ec && !ahead_.empty()) {
      // Ingest only what can start soon: a quarter of the in-flight bound is free, and no
      // more events than fill the free room at the last batch's fan-out, nor more than
      // the endpoint with the most free slots takes (delivery/read_pace): so that what is
      // ingested is leased at once, not queued and claimed again.
      const auto room = co_await scheduler_.async_wait_for_room(
          std::min(settings_.batch_size * fanout_, settings_.max_in_flight / 4));
      const auto count = std::clamp<std::size_t>(std::min(room / fanout_, scheduler_.readable()), 1,
                                                 ahead_.size());
      co_await async_process(take_front(ahead_, count));
    }
    if (ec && !stopped_) {
      obs::global_metrics().redis_errors.inc();
      backoff_timer.expires_after(backoff.next());
      co_await backoff_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    } else {
      backoff.reset();
    }
  }
  // What was read ahead is recorded now, queued (a stopping scheduler leases nothing), so
  // that other instances deliver it at once rather than after XAUTOCLAIM's idle time.
  if (!ahead_.empty()) co_await async_process(std::move(ahead_));
}

}  // namespace dispatcher::ingest
