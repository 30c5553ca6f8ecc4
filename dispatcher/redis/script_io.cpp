// Argument positions and reply shapes of each script, written once: a script and its
// caller can only disagree here, where the unit tests check every pair.
#include "dispatcher/redis/script_io.hpp"

#include <cstdio>

#include "dispatcher/history/connection.hpp"
#include "dispatcher/history/delivery.hpp"

namespace dispatcher::redis {

namespace {

std::string text(std::int64_t v) {
  return std::to_string(v);
}
std::string text(std::size_t v) {
  return std::to_string(v);
}

bool is_array(const reply& r, std::size_t size) {
  return r.type == reply::kind::array && r.elements.size() == size;
}

std::optional<std::vector<std::string>> strings_of(reply&& r) {
  if (r.type != reply::kind::array) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(r.elements.size());
  for (auto& o : r.elements) out.push_back(std::move(o.str));
  return out;
}

}  // namespace

std::size_t ingest_event_args(std::size_t deliveries) {
  return 10 + 3 * deliveries;
}

// The records the script stores, built here rather than concatenated in Lua: about a
// third of Redis's time per delivery was Lua itself. Byte for byte what history::pack
// writes for a fresh event, a pending delivery and a connection history member.
std::string event_value(const ingest_event& e, std::string_view now) {
  std::size_t size = e.type.size() + e.consumerid.size() + e.connectionid.size() + now.size() +
                     e.order.size() + e.body.size() + 6;
  for (const auto& d : e.deliveries) size += d.delivery_id.size() + 1;
  std::string out;
  out.reserve(size);
  history::append_event_head(out, e.type, e.consumerid, e.connectionid, now, e.order);
  for (std::size_t i = 0; i < e.deliveries.size(); ++i) {
    if (i > 0) out += ',';
    out.append(e.deliveries[i].delivery_id);
  }
  out.append("\n").append(e.body);
  return out;
}

std::string pending_value(std::string_view event_id, std::string_view endpoint_id,
                          std::string_view now) {
  std::string out;
  out.reserve(20 + 3 * now.size() + event_id.size() + endpoint_id.size());
  out.append("pending\t0\t\t").append(now).append("\t").append(now).append("\t").append(now);
  out.append("\t0\t").append(event_id).append("\t").append(endpoint_id).append("\t");
  return out;
}

std::vector<std::string> encode(ingest_request&& r) {
  std::size_t size = ingest_header_args;
  for (const auto& e : r.events) size += ingest_event_args(e.deliveries.size());
  std::vector<std::string> args;
  args.reserve(size);
  const auto now = text(r.now_ms);
  args.push_back(std::move(r.stream));
  args.push_back(now);
  args.push_back(text(r.retention_ms));
  args.push_back(text(r.endpoint_concurrency));
  args.push_back(text(r.room));
  args.push_back(std::move(r.token));
  args.push_back(text(r.lease_ms));
  args.push_back(std::move(r.group));
  args.push_back(std::move(r.endpoints_version));
  args.push_back(r.bucket);
  args.push_back(text(r.head_recheck_ms));
  for (auto& e : r.events) {
    const char change = history::status_change(e.type, e.status);
    args.push_back(e.id);
    args.push_back(event_value(e, now));
    args.push_back(e.consumerid);
    if (e.connectionid.empty()) {
      args.emplace_back();
    } else {
      args.push_back(
          history::pack(history::history_member{e.order, change, r.bucket, e.id, e.type}));
    }
    args.push_back(std::move(e.connectionid));
    args.push_back(text(e.created));
    args.push_back(change == '-' ? std::string() : std::string("1"));
    args.push_back(std::move(e.order));
    args.push_back(std::move(e.entry_id));
    args.push_back(text(e.deliveries.size()));
    for (auto& d : e.deliveries) {
      args.push_back(pending_value(e.id, d.endpoint_id, now));
      args.push_back(std::move(d.endpoint_id));
      args.push_back(std::move(d.delivery_id));
    }
  }
  return args;
}

std::optional<ingest_reply> decode_ingest(reply&& r) {
  ingest_reply out;
  if (r.type == reply::kind::string || r.type == reply::kind::status) {
    if (r.str != "stale") return std::nullopt;
    out.stale = true;
    return out;
  }
  if (!is_array(r, 3) && !is_array(r, 4)) return std::nullopt;
  for (const auto& count : r.elements[0].elements) {
    auto n = count.as_integer();
    if (!n) return std::nullopt;
    out.counts.push_back(*n);
  }
  auto& flat = r.elements[1].elements;
  if (flat.size() % 3 != 0) return std::nullopt;
  for (std::size_t i = 0; i + 2 < flat.size(); i += 3) {
    leased_delivery d;
    d.id = std::move(flat[i].str);
    d.endpoint_id = std::move(flat[i + 1].str);
    d.event_id = std::move(flat[i + 2].str);
    out.leased.push_back(std::move(d));
  }
  out.queued = r.elements[2].as_integer().value_or(0) > 0;
  if (r.elements.size() == 4) {
    for (auto& endpoint : r.elements[3].elements) out.queued_for.push_back(std::move(endpoint.str));
  }
  return out;
}

std::vector<std::string> encode(const claim_request& r) {
  return {r.stream,
          text(r.now_ms),
          text(r.max),
          text(r.lease_ms),
          text(r.endpoint_concurrency),
          r.token,
          r.group,
          text(r.head_recheck_ms)};
}

std::optional<claim_reply> decode_claim(reply&& r) {
  if (!is_array(r, 2)) return std::nullopt;
  claim_reply out;
  out.expired_leases = r.elements[0].as_integer().value_or(0);
  for (auto& item : r.elements[1].elements) {
    if (item.elements.size() < 7) return std::nullopt;
    leased_delivery d;
    d.id = std::move(item.elements[0].str);
    d.endpoint_id = std::move(item.elements[1].str);
    d.event_id = std::move(item.elements[2].str);
    d.attempts_before = static_cast<int>(item.elements[3].as_integer().value_or(0));
    if (!item.elements[4].is_nil()) d.payload = std::move(item.elements[4].str);
    d.manual = item.elements[5].str == "1";
    d.created_at_ms = item.elements[6].as_integer().value_or(0);
    out.claimed.push_back(std::move(d));
  }
  return out;
}

std::vector<std::string> encode(const complete_request& r) {
  std::vector<std::string> args{r.stream,
                                text(r.now_ms),
                                text(r.endpoint_concurrency),
                                text(r.breaker_failures),
                                text(r.breaker_probe_ms),
                                text(r.disable_after_ms)};
  args.reserve(6 + r.completions.size() * 10);
  for (const auto& c : r.completions) {
    args.push_back(c.delivery_id);
    args.push_back(c.endpoint_id);
    args.push_back(c.token);
    args.emplace_back(history::to_string(c.status));
    args.push_back(c.next_attempt_at_ms ? text(*c.next_attempt_at_ms) : std::string());
    args.push_back(c.status_code ? std::to_string(*c.status_code) : std::string());
    // The last field of the record's line: no tab or newline may reach it.
    args.push_back(history::record_text(c.error));
    args.push_back(c.attempt);
    args.push_back(c.disable_reason);
    args.push_back(c.record);
  }
  return args;
}

std::optional<complete_reply> decode_complete(reply&& r) {
  if (!is_array(r, 3) || r.elements[2].elements.size() % 2 != 0) return std::nullopt;
  complete_reply out;
  for (const auto& w : r.elements[0].elements) out.written.push_back(w.as_integer() == 1);
  out.due_now = r.elements[1].as_integer() == 1;
  auto& disabled = r.elements[2].elements;
  for (std::size_t i = 0; i + 1 < disabled.size(); i += 2) {
    out.disabled.push_back({std::move(disabled[i].str), std::move(disabled[i + 1].str)});
  }
  return out;
}

std::vector<std::string> encode(const release_request& r) {
  std::vector<std::string> args{r.stream, text(r.now_ms), r.token, text(r.endpoint_concurrency)};
  for (const auto& l : r.leases) {
    args.push_back(l.delivery_id);
    args.push_back(l.endpoint_id);
  }
  return args;
}

std::optional<long long> decode_release(const reply& r) {
  return r.as_integer();
}

std::vector<std::string> encode(const requeue_request& r) {
  std::string statuses;
  for (auto s : r.requeueable) {
    if (!statuses.empty()) statuses += ',';
    statuses += history::to_string(s);
  }
  char pace[32];
  std::snprintf(pace, sizeof pace, "%.17g", r.pace_ms);
  std::vector<std::string> args{r.stream, text(r.now_ms), text(r.endpoint_concurrency), pace,
                                std::move(statuses)};
  args.insert(args.end(), r.delivery_ids.begin(), r.delivery_ids.end());
  return args;
}

std::optional<std::vector<std::string>> decode_requeue(reply&& r) {
  return strings_of(std::move(r));
}

std::vector<std::string> encode(const wake_request& r) {
  return {r.stream, r.endpoint_id, text(r.endpoint_concurrency), text(r.now_ms)};
}

std::vector<std::string> encode(const retire_request& r) {
  std::vector<std::string> args{r.stream, r.hour, text(r.end_ms), text(r.endpoints.size())};
  args.reserve(4 + r.endpoints.size() + 2 * r.events.size());
  args.insert(args.end(), r.endpoints.begin(), r.endpoints.end());
  for (const auto& e : r.events) {
    args.push_back(e.consumerid);
    args.push_back(e.connectionid);
  }
  return args;
}

std::vector<std::string> encode(const forget_consumers_request& r) {
  return {r.stream, r.group, text(r.idle_ms)};
}

std::optional<std::vector<std::string>> decode_forgotten(reply&& r) {
  return strings_of(std::move(r));
}

}  // namespace dispatcher::redis
