// Argument positions and reply shapes of each script, written once: a script and its
// caller can only disagree here, where the unit tests check every pair.
#include "dispatcher/redis/script_io.hpp"

#include <cstdio>
#include <initializer_list>

#include "dispatcher/history/connection.hpp"
#include "dispatcher/history/delivery.hpp"
#include "dispatcher/redis/keys.hpp"

namespace dispatcher::redis {

namespace {

std::int64_t number(std::size_t v) {
  return static_cast<std::int64_t>(v);
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

/// About the bytes encode(ingest_request) writes, so that the command is allocated once
/// rather than once per doubling: a call can be hundreds of kilobytes.
std::size_t ingest_bytes(const ingest_request& r, std::size_t now_digits) {
  constexpr std::size_t per_arg = 8;  // "$<length>\r\n" and "\r\n"
  std::size_t size = 256;
  for (const auto& e : r.events) {
    size += ingest_event_args(e.deliveries.size()) * per_arg + 2 * e.id.size() + e.body.size() +
            2 * e.type.size() + e.consumerid.size() + 2 * e.connectionid.size() +
            3 * e.order.size() + e.entry_id.size() + r.bucket.size() + now_digits + 48;
    for (const auto& d : e.deliveries) {
      size +=
          2 * d.endpoint_id.size() + 3 * d.delivery_id.size() + e.id.size() + 3 * now_digits + 24;
    }
  }
  return size;
}

// A completion's status in its kind (encode(complete_request)), one letter the script maps
// back to the name.
char completion_status_code(history::delivery_status s) {
  switch (s) {
    case history::delivery_status::pending:
      return 'p';
    case history::delivery_status::retrying:
      return 'r';
    case history::delivery_status::succeeded:
      return 's';
    case history::delivery_status::failed:
      return 'f';
  }
  return 'f';
}

}  // namespace

std::size_t ingest_event_args(std::size_t deliveries) {
  return 8 + 3 * deliveries;
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
  append_event_value(out, e, now);
  return out;
}

void append_event_value(std::string& out, const ingest_event& e, std::string_view now) {
  history::append_event_head(out, e.type, e.consumerid, e.connectionid, now, e.order);
  for (std::size_t i = 0; i < e.deliveries.size(); ++i) {
    if (i > 0) out += ',';
    out.append(e.deliveries[i].delivery_id);
  }
  out.append("\n").append(e.body);
}

std::string pending_value(std::string_view event_id, std::string_view endpoint_id,
                          std::string_view now) {
  std::string out;
  out.reserve(20 + 3 * now.size() + event_id.size() + endpoint_id.size());
  append_pending_value(out, event_id, endpoint_id, now);
  return out;
}

void append_pending_value(std::string& out, std::string_view event_id, std::string_view endpoint_id,
                          std::string_view now) {
  out.append("pending\t0\t\t").append(now).append("\t").append(now).append("\t").append(now);
  out.append("\t0\t").append(event_id).append("\t").append(endpoint_id).append("\t");
}

command encode(const ingest_request& r) {
  const auto now = std::to_string(r.now_ms);  // short enough not to allocate
  command args;
  args.reserve(ingest_bytes(r, now.size()));
  args.arg(r.stream)
      .arg(now)
      .arg(r.retention_ms)
      .arg(number(r.endpoint_concurrency))
      .arg(number(r.room))
      .arg(r.token)
      .arg(r.lease_ms)
      .arg(r.group)
      .arg(r.endpoints_version)
      .arg(r.bucket)
      .arg(r.head_recheck_ms);
  // The composed values are built here, one at a time, and copied into the command: one
  // buffer for the whole call instead of a string per value.
  std::string value;
  for (const auto& e : r.events) {
    const char change = history::status_change(e.type, e.status);
    value.clear();
    append_event_value(value, e, now);
    args.arg(e.id).arg(value);
    value.clear();
    if (!e.connectionid.empty()) {
      history::append_history_member(value, e.order, change, r.bucket, e.id, e.type);
    }
    args.arg(value)
        .arg(e.connectionid)
        .arg(e.created)
        .arg(e.order)
        .arg(e.entry_id)
        .arg(number(e.deliveries.size()));
    for (const auto& d : e.deliveries) {
      value.clear();
      append_pending_value(value, e.id, d.endpoint_id, now);
      args.arg(value).arg(d.endpoint_id).arg(d.delivery_id);
    }
  }
  return args;
}

std::vector<command> encode_event_indexes(const ingest_request& r) {
  const keyspace keys(r.stream);
  const auto now = std::to_string(r.now_ms);
  std::vector<command> out;
  out.reserve(r.events.size() * 2);
  // Each command sized once: grown an argument at a time, its buffer was reallocated three
  // or four times, per event, on the ingest path.
  const auto make = [&out](std::initializer_list<std::string_view> args) {
    std::size_t bytes = 0;
    for (const auto a : args) bytes += a.size() + 16;
    auto& c = out.emplace_back();
    c.reserve(bytes);
    for (const auto a : args) c.arg(a);
  };
  for (const auto& e : r.events) {
    if (!e.deliveries.empty()) make({"ZADD", keys.index_consumer(e.consumerid), "NX", now, e.id});
    if (!e.connectionid.empty() && history::status_change(e.type, e.status) != '-') {
      make({"SADD", keys.consumer_connections(e.consumerid), e.connectionid});
    }
  }
  return out;
}

std::optional<ingest_reply> decode_ingest(reply&& r) {
  ingest_reply out;
  if (r.type == reply::kind::string || r.type == reply::kind::status) {
    if (r.str != "stale") return std::nullopt;
    out.stale = true;
    return out;
  }
  if (!is_array(r, 3) && !is_array(r, 4)) return std::nullopt;
  out.counts.reserve(r.elements[0].elements.size());
  for (const auto& count : r.elements[0].elements) {
    auto n = count.as_integer();
    if (!n) return std::nullopt;
    out.counts.push_back(*n);
  }
  auto& flat = r.elements[1].elements;
  if (flat.size() % 3 != 0) return std::nullopt;
  out.leased.reserve(flat.size() / 3);
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

command encode(const claim_request& r) {
  command args;
  args.arg(r.stream)
      .arg(r.now_ms)
      .arg(number(r.max))
      .arg(r.lease_ms)
      .arg(number(r.endpoint_concurrency))
      .arg(r.token)
      .arg(r.group)
      .arg(r.head_recheck_ms);
  return args;
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

command encode(const complete_request& r) {
  std::size_t size = 128;
  for (const auto& c : r.completions) {
    size += 8 * 8 + 48 + c.delivery_id.size() + c.endpoint_id.size() + c.token.size() +
            c.error.size() + c.attempt.size() + c.disable_reason.size() + c.record.size();
  }
  command args;
  args.reserve(size);
  args.arg(r.stream)
      .arg(r.now_ms)
      .arg(number(r.endpoint_concurrency))
      .arg(number(r.breaker_failures))
      .arg(r.breaker_probe_ms)
      .arg(r.disable_after_ms);
  std::string error;
  const auto& all = r.completions;
  for (std::size_t run = 0; run < all.size();) {
    std::size_t run_end = run + 1;
    while (run_end < all.size() && all[run_end].token == all[run].token) ++run_end;
    args.arg(all[run].token).arg(number(run_end - run));
    for (; run < run_end; ++run) {
      const auto& c = all[run];
      const bool whole = !c.record.empty();
      const bool disable = !c.disable_reason.empty();
      const char kind[4] = {completion_status_code(c.status), c.attempt.empty() ? '0' : '1',
                            whole ? 'r' : 'a', disable ? 'd' : '-'};
      args.arg(c.delivery_id).arg(c.endpoint_id).arg(std::string_view(kind, sizeof kind));
      const auto next_attempt = [&] {
        if (c.next_attempt_at_ms) {
          args.arg(*c.next_attempt_at_ms);
        } else {
          args.arg(std::string_view());
        }
      };
      if (whole) {
        if (c.status == history::delivery_status::retrying) next_attempt();
        args.arg(c.record);
      } else {
        next_attempt();
        if (c.status_code) {
          args.arg(std::int64_t{*c.status_code});
        } else {
          args.arg(std::string_view());
        }
        // The last field of the record's line: no tab or newline may reach it.
        error.clear();
        history::append_record_text(error, c.error);
        args.arg(error).arg(c.attempt);
      }
      if (disable) args.arg(c.disable_reason);
    }
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

command encode(const release_request& r) {
  command args;
  args.arg(r.stream).arg(r.now_ms).arg(r.token).arg(number(r.endpoint_concurrency));
  for (const auto& l : r.leases) args.arg(l.delivery_id).arg(l.endpoint_id);
  return args;
}

std::optional<long long> decode_release(const reply& r) {
  return r.as_integer();
}

command encode(const requeue_request& r) {
  std::string statuses;
  for (auto s : r.requeueable) {
    if (!statuses.empty()) statuses += ',';
    statuses += history::to_string(s);
  }
  char pace[32];
  std::snprintf(pace, sizeof pace, "%.17g", r.pace_ms);
  command args;
  args.arg(r.stream).arg(r.now_ms).arg(number(r.endpoint_concurrency)).arg(pace).arg(statuses);
  for (const auto& id : r.delivery_ids) args.arg(id);
  return args;
}

std::optional<std::vector<std::string>> decode_requeue(reply&& r) {
  return strings_of(std::move(r));
}

command encode(const wake_request& r) {
  command args;
  args.arg(r.stream).arg(r.endpoint_id).arg(number(r.endpoint_concurrency)).arg(r.now_ms);
  return args;
}

command encode(const retire_request& r) {
  command args;
  args.arg(r.stream).arg(r.hour).arg(r.end_ms).arg(number(r.endpoints.size()));
  for (const auto& endpoint : r.endpoints) args.arg(endpoint);
  for (const auto& e : r.events) args.arg(e.consumerid).arg(e.connectionid);
  return args;
}

command encode(const forget_consumers_request& r) {
  command args;
  args.arg(r.stream).arg(r.group).arg(r.idle_ms);
  return args;
}

std::optional<std::vector<std::string>> decode_forgotten(reply&& r) {
  return strings_of(std::move(r));
}

}  // namespace dispatcher::redis
