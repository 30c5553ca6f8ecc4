// The Redis reads behind the history routes: index walks with cursor paging, records read
// from their hour buckets, and a connection's events read whole, then paged here.
#include "dispatcher/history/store.hpp"

#include <charconv>
#include <cstdlib>

#include <boost/asio/use_awaitable.hpp>

#include "dispatcher/common/error.hpp"
#include "dispatcher/common/ids.hpp"
#include "dispatcher/common/json.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/history/connection.hpp"
#include "dispatcher/history/index_range.hpp"
#include "dispatcher/redis/fields.hpp"

namespace dispatcher::history {

namespace asio = boost::asio;

namespace {

using redis::error_of;

std::int64_t to_int(std::string_view s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

/// Connections with more events than this list only their newest this many.
constexpr std::size_t max_connection_events = 10'000;

struct scored_member {
  history_member member;
  std::int64_t created = 0;  // seconds, the member's score
};

/// The members of a ZRANGE ... WITHSCORES reply that parse, in order.
std::vector<scored_member> members_of(const redis::reply& r) {
  std::vector<scored_member> out;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    if (auto m = parse_history_member(r.elements[i].str)) {
      // Scores are doubles: "1e+15" is a time too far to show as one, not 1 second.
      const double score = std::strtod(r.elements[i + 1].str.c_str(), nullptr);
      const bool fits = score >= -9.2e18 && score <= 9.2e18;
      out.push_back({std::move(*m), fits ? static_cast<std::int64_t>(score) : 0});
    }
  }
  return out;
}

/// The newest status change: the connection's current state.
const scored_member* newest_status(const std::vector<scored_member>& members) {
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    if (it->member.status != '-') return &*it;
  }
  return nullptr;
}

nlohmann::json connection_json(const std::string& id, const scored_member& newest,
                               std::string consumerid) {
  auto entry = history_entry_json(newest.member, newest.created);
  return {{"connectionid", id},
          {"status", std::move(entry["status"])},
          {"consumerid", std::move(consumerid)},
          {"updated_at", std::move(entry["at"])},
          {"event_id", newest.member.event_id}};
}

}  // namespace

asio::awaitable<store::event_deliveries> store::async_read_deliveries(
    const std::vector<located_event>& events) {
  event_deliveries out;
  out.per_event.resize(events.size());
  std::vector<redis::command> gets;
  std::vector<std::size_t> asked;  // the event each command is for
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].event.delivery_ids.empty()) continue;
    gets.push_back(event_deliveries_command(keys_.bucket(events[i].bucket), events[i].event));
    asked.push_back(i);
  }
  auto replies = co_await conn_.async_exec(std::move(gets));
  for (std::size_t k = 0; k < replies.size(); ++k) {
    if ((out.ec = error_of(replies[k]))) co_return out;
    out.per_event[asked[k]] = read_event_deliveries(events[asked[k]].event, replies[k].value);
  }
  co_return out;
}

asio::awaitable<store::page> store::async_scan_connection(const delivery_filter& f,
                                                          std::size_t want) {
  // A connection has few events: read them all (up to a bound), then its deliveries, and
  // order and page those here.
  page out;
  auto r = co_await conn_.async_exec(
      redis::command{"ZREVRANGE", keys_.connection_history(*f.connectionid), "0",
                     std::to_string(max_connection_events - 1), "WITHSCORES"});
  if ((out.ec = error_of(r))) co_return out;
  std::vector<redis::command> event_gets;
  std::vector<std::string> buckets;
  for (const auto& m : members_of(r.value)) {
    buckets.push_back(m.member.bucket);
    event_gets.push_back(
        redis::command{"HGET", keys_.bucket(m.member.bucket), "e:" + m.member.event_id});
  }
  auto events = co_await conn_.async_exec(std::move(event_gets));
  std::vector<located_event> located;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if ((out.ec = error_of(events[i]))) co_return out;
    auto e = parse_event_record(events[i].value.str);
    if (!e || e->delivery_ids.empty()) continue;
    located.push_back({std::move(buckets[i]), std::move(*e)});
  }
  auto deliveries = co_await async_read_deliveries(located);
  if ((out.ec = deliveries.ec)) co_return out;
  std::vector<page::item> all;
  for (std::size_t i = 0; i < located.size(); ++i) {
    const auto& record = located[i].event;
    for (auto& [id, d] : deliveries.per_event[i]) {
      if (!matches(f, d, &record)) continue;
      if (f.after && (d.created_at_ms > f.after->score ||
                      (d.created_at_ms == f.after->score && id >= f.after->id))) {
        continue;  // on an earlier page
      }
      all.push_back({id, d.created_at_ms, std::move(d), record});
    }
  }
  // Newest first, as the indexes walk: by created_at, then id, both descending.
  std::sort(all.begin(), all.end(), [](const page::item& a, const page::item& b) {
    return a.score != b.score ? a.score > b.score : a.id > b.id;
  });
  if (all.size() > want) {
    all.resize(want);
    out.next = cursor{all.back().score, all.back().id, {}};
  }
  out.items = std::move(all);
  co_return out;
}

asio::awaitable<store::page> store::async_scan_events(const delivery_filter& f, std::size_t want,
                                                      std::size_t max_scanned) {
  page out;
  // Events per index read, and about the most delivery records read per round trip: an
  // event fanned out to many endpoints is many records.
  const std::size_t batch = std::max<std::size_t>(want * 2, 100);
  index_range range(keys_, f, batch);
  std::size_t scanned = 0;  // records read, and at least one per event: the work done
  const auto finish = [&](page& p) {
    if (p.items.size() > want) {
      p.items.resize(want);
      const auto& last = p.items.back();
      p.next = cursor{last.score, last.id, last.delivery.event_id};
    }
  };
  for (;;) {
    auto r = co_await conn_.async_exec(range.next_read());
    if ((out.ec = error_of(r))) co_return out;
    const auto& flat = r.value.elements;
    if (flat.empty()) co_return out;  // the index is exhausted: no next page
    range.advance(flat);

    // Each event's record, in the bucket of the hour it was received in: its score.
    struct walked {
      std::string id;
      std::int64_t score = 0;
      std::string bucket;
      std::optional<event_record> event;
    };
    std::vector<walked> events;
    std::vector<redis::command> gets;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
      walked w{flat[i].str, to_int(flat[i + 1].str), {}, {}};
      w.bucket = redis::bucket_name(w.score);
      gets.push_back(redis::command{"HGET", keys_.bucket(w.bucket), "e:" + w.id});
      events.push_back(std::move(w));
    }
    auto records = co_await conn_.async_exec(std::move(gets));
    for (std::size_t i = 0; i < events.size(); ++i) {
      if ((out.ec = error_of(records[i]))) co_return out;
      events[i].event = parse_event_record(records[i].value.str);  // nullopt: gone
    }

    // Their deliveries, read in chunks of about `batch` records.
    for (std::size_t begin = 0; begin < events.size();) {
      std::vector<located_event> chunk;
      std::vector<const walked*> chunk_events;
      std::size_t records_in_chunk = 0;
      std::size_t end = begin;
      for (; end < events.size() && (chunk.empty() || records_in_chunk < batch); ++end) {
        const auto& w = events[end];
        ++scanned;
        if (!w.event) continue;
        // The conditions on the event need no delivery record.
        if ((f.event && !event_filter_matches(*f.event, w.event->type)) ||
            (f.consumerid && w.event->consumerid != *f.consumerid)) {
          continue;
        }
        auto ids = deliveries_in_walk(w.event->delivery_ids, w.score, w.id, f.after);
        if (f.endpoint_id) {
          // One delivery per endpoint, and its id says which: read only that one.
          const auto wanted = delivery_id(w.id, *f.endpoint_id, w.bucket);
          std::erase_if(ids, [&](const std::string& id) { return id != wanted; });
        }
        if (ids.empty()) continue;
        scanned += ids.size() - 1;
        records_in_chunk += ids.size();
        located_event located{w.bucket, *w.event};
        located.event.delivery_ids = std::move(ids);
        chunk.push_back(std::move(located));
        chunk_events.push_back(&w);
      }
      if (!chunk.empty()) {
        auto deliveries = co_await async_read_deliveries(chunk);
        if ((out.ec = deliveries.ec)) co_return out;
        for (std::size_t k = 0; k < chunk.size(); ++k) {
          const auto& w = *chunk_events[k];
          // What a delivery shows of its event: not the event's list of deliveries.
          event_record shown = *w.event;
          shown.delivery_ids.clear();
          for (auto& [id, d] : deliveries.per_event[k]) {
            if (!matches(f, d, &shown)) continue;
            out.items.push_back({id, w.score, std::move(d), shown});
            if (out.items.size() > want) {
              finish(out);
              co_return out;
            }
          }
        }
      }
      begin = end;
      if (scanned >= max_scanned) {
        // Bounded work per request: hand back a cursor where the walk stopped, past the
        // last event walked ("dlv_" sorts below every delivery id: none of its is left).
        out.next = cursor{events[end - 1].score, "dlv_", events[end - 1].id};
        co_return out;
      }
    }
    if (range.last(flat)) co_return out;
  }
}

asio::awaitable<store::page> store::async_scan(const delivery_filter& f, std::size_t want,
                                               std::size_t max_scanned, bool with_events) {
  if (f.connectionid) co_return co_await async_scan_connection(f, want);
  if (index_holds_events(f)) co_return co_await async_scan_events(f, want, max_scanned);
  page out;
  const bool need_events = with_events || f.event || f.consumerid;
  index_range range(keys_, f, std::max<std::size_t>(want * 2, 100));
  std::optional<cursor> last_scanned;
  while (out.items.size() <= want) {
    auto r = co_await conn_.async_exec(range.next_read());
    if ((out.ec = error_of(r))) co_return out;
    const auto& flat = r.value.elements;
    if (flat.empty()) co_return out;  // the index is exhausted: no next page
    range.advance(flat);

    std::vector<page::item> candidates;
    std::vector<redis::command> gets;
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
      page::item c{flat[i].str, to_int(flat[i + 1].str), {}, {}};
      // Members with the cursor's score come in reverse id order; those at or above the
      // cursor's id were on earlier pages.
      if (f.after && c.score == f.after->score && c.id >= f.after->id) continue;
      gets.push_back(redis::command{"HGET", keys_.bucket(bucket_of(c.id)), "d:" + c.id});
      candidates.push_back(std::move(c));
    }
    auto records = co_await conn_.async_exec(std::move(gets));
    std::vector<redis::command> event_gets;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if ((out.ec = error_of(records[i]))) co_return out;
      auto d = parse_delivery_record(records[i].value.str);
      if (!d) {
        candidates[i].id.clear();  // gone past retention, or not a record
        continue;
      }
      candidates[i].delivery = std::move(*d);
      if (need_events) {
        event_gets.push_back(redis::command{"HGET", keys_.bucket(bucket_of(candidates[i].id)),
                                            "e:" + candidates[i].delivery.event_id});
      }
    }
    auto events = co_await conn_.async_exec(std::move(event_gets));
    std::size_t next_event = 0;
    for (auto& c : candidates) {
      if (!c.id.empty() && need_events) {
        const auto& e = events[next_event++];
        if ((out.ec = error_of(e))) co_return out;
        c.event = parse_event_record(e.value.str);
      }
    }
    for (auto& c : candidates) {
      if (c.id.empty()) continue;
      last_scanned = cursor{c.score, c.id, {}};
      if (!matches(f, c.delivery, c.event ? &*c.event : nullptr)) continue;
      out.items.push_back(std::move(c));
      if (out.items.size() > want) break;
    }
    if (range.last(flat)) {
      if (out.items.size() <= want) co_return out;
      break;
    }
    if (range.members_read() >= max_scanned && out.items.size() <= want) {
      // Bounded work per request: hand back a cursor where the scan stopped.
      out.next = last_scanned;
      co_return out;
    }
  }
  if (out.items.size() > want) {
    out.items.resize(want);
    out.next = cursor{out.items.back().score, out.items.back().id, {}};
  }
  co_return out;
}

asio::awaitable<query_result> store::async_list_deliveries(const delivery_filter& f) {
  auto p = co_await async_scan(f, f.limit, 10'000, true);
  if (p.ec) co_return query_result{p.ec, std::nullopt};
  nlohmann::json data = nlohmann::json::array();
  for (const auto& item : p.items) {
    data.push_back(delivery_json(item.id, item.delivery, item.event ? &*item.event : nullptr));
  }
  nlohmann::json body = {{"data", std::move(data)}, {"next_cursor", nullptr}};
  if (p.next) body["next_cursor"] = encode_cursor(*p.next);
  co_return query_result{{}, std::move(body)};
}

asio::awaitable<store::id_page> store::async_match_ids(const delivery_filter& f, std::size_t want) {
  auto p = co_await async_scan(f, want, want * 20, false);
  id_page out{p.ec, {}, p.next};
  for (auto& item : p.items) out.ids.push_back(std::move(item.id));
  co_return out;
}

asio::awaitable<query_result> store::async_get_delivery(const std::string& id) {
  const auto bucket = keys_.bucket(bucket_of(id));
  auto r = co_await conn_.async_exec(redis::command{"HGET", bucket, "d:" + id});
  if (auto ec = error_of(r)) co_return query_result{ec, std::nullopt};
  auto d = parse_delivery_record(r.value.str);
  if (!d) co_return query_result{};
  auto e = co_await conn_.async_exec(redis::command{"HGET", bucket, "e:" + d->event_id});
  if (auto ec = error_of(e)) co_return query_result{ec, std::nullopt};
  const auto event = parse_event_record(e.value.str);
  auto j = delivery_json(id, *d, event ? &*event : nullptr);
  nlohmann::json attempts = nlohmann::json::array();
  for (const auto& a : d->attempts) attempts.push_back(attempt_json(a));
  j["attempts"] = std::move(attempts);
  co_return query_result{{}, std::move(j)};
}

asio::awaitable<query_result> store::async_get_event(const std::string& id) {
  auto where = co_await conn_.async_exec(redis::command{"HGET", keys_.seen(), id});
  if (auto ec = error_of(where)) co_return query_result{ec, std::nullopt};
  if (where.value.is_nil()) co_return query_result{};
  const auto bucket = keys_.bucket(where.value.str);
  auto r = co_await conn_.async_exec(redis::command{"HGET", bucket, "e:" + id});
  if (auto ec = error_of(r)) co_return query_result{ec, std::nullopt};
  const auto event = parse_event_record(r.value.str);
  const auto payload = event_payload(r.value.str);
  if (!event || !payload) co_return query_result{};
  std::vector<located_event> located;
  located.push_back({where.value.str, *event});
  auto read = co_await async_read_deliveries(located);
  if (read.ec) co_return query_result{read.ec, std::nullopt};
  nlohmann::json deliveries = nlohmann::json::array();
  for (const auto& [delivery_id, d] : read.per_event.front()) {
    deliveries.push_back(delivery_json(delivery_id, d, &*event));
  }
  // What ingest stored passed the same checks, but an event written before they existed,
  // or straight into Redis, is shown as a string rather than parsed into a document too
  // deep to render.
  nlohmann::json body = {{"id", id},
                         {"payload", json_or_text(*payload)},
                         {"received_at", format_rfc3339(event->received_at_ms)},
                         {"deliveries", std::move(deliveries)}};
  co_return query_result{{}, std::move(body)};
}

asio::awaitable<query_result> store::async_get_connection(const std::string& id) {
  auto r = co_await conn_.async_exec(
      redis::command{"ZRANGE", keys_.connection_history(id), "0", "-1", "WITHSCORES"});
  if (auto ec = error_of(r)) co_return query_result{ec, std::nullopt};
  const auto members = members_of(r.value);
  const auto* newest = newest_status(members);
  if (!newest) co_return query_result{};
  nlohmann::json history = nlohmann::json::array();
  for (const auto& m : members) {
    if (m.member.status != '-') history.push_back(history_entry_json(m.member, m.created));
  }
  // The consumer is read from the newest status change's event.
  auto e = co_await conn_.async_exec(
      redis::command{"HGET", keys_.bucket(newest->member.bucket), "e:" + newest->member.event_id});
  if (auto ec = error_of(e)) co_return query_result{ec, std::nullopt};
  const auto event = parse_event_record(e.value.str);
  auto body = connection_json(id, *newest, event ? event->consumerid : std::string());
  body["history"] = std::move(history);
  co_return query_result{{}, std::move(body)};
}

asio::awaitable<query_result> store::async_consumer_connections(
    const std::string& consumerid, const std::optional<std::string>& status) {
  auto members =
      co_await conn_.async_exec(redis::command{"SMEMBERS", keys_.consumer_connections(consumerid)});
  if (auto ec = error_of(members)) co_return query_result{ec, std::nullopt};
  auto ids = redis::to_strings(members.value);
  std::sort(ids.begin(), ids.end());
  std::vector<redis::command> histories;
  for (const auto& id : ids) {
    histories.push_back(
        redis::command{"ZRANGE", keys_.connection_history(id), "0", "-1", "WITHSCORES"});
  }
  auto records = co_await conn_.async_exec(std::move(histories));
  nlohmann::json data = nlohmann::json::array();
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (auto ec = error_of(records[i])) co_return query_result{ec, std::nullopt};
    const auto all = members_of(records[i].value);
    const auto* newest = newest_status(all);
    if (!newest) continue;  // expired
    auto connection = connection_json(ids[i], *newest, consumerid);
    if (status && connection["status"] != *status) continue;
    data.push_back(std::move(connection));
  }
  co_return query_result{{}, nlohmann::json{{"data", std::move(data)}, {"next_cursor", nullptr}}};
}

}  // namespace dispatcher::history
