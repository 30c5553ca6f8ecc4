// Reading and writing the packed records. Parsing is strict and never throws: a damaged
// record is refused as a whole rather than shown with fields shifted into wrong places.
#include "dispatcher/history/delivery.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <numeric>

#include "dispatcher/common/json.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/signing/signature.hpp"

namespace dispatcher::history {

namespace {

constexpr std::array status_names{"pending", "retrying", "succeeded", "failed"};

template <class Int>
std::optional<Int> to_int(std::string_view s) {
  Int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

/// Splits `line` at tabs into exactly `n` fields; false when it has another count.
template <std::size_t n>
bool split_fields(std::string_view line, std::array<std::string_view, n>& out) {
  for (std::size_t i = 0; i < n; ++i) {
    const auto tab = line.find('\t');
    if (i + 1 == n) {
      if (tab != std::string_view::npos) return false;
      out[i] = line;
      return true;
    }
    if (tab == std::string_view::npos) return false;
    out[i] = line.substr(0, tab);
    line.remove_prefix(tab + 1);
  }
  return true;
}

nlohmann::json time_or_null(std::optional<std::int64_t> ms) {
  if (!ms) return nullptr;
  return format_rfc3339(*ms);
}

nlohmann::json text_or_null(const std::string& s) {
  if (s.empty()) return nullptr;
  return s;
}

template <class Int>
void append_integer(std::string& out, Int value) {
  std::array<char, 24> digits;
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
  out.append(digits.data(), end);
}

}  // namespace

std::string_view to_string(delivery_status s) {
  return status_names[static_cast<std::size_t>(s)];
}

std::optional<delivery_status> parse_status(std::string_view text) {
  for (std::size_t i = 0; i < status_names.size(); ++i) {
    if (text == status_names[i]) return static_cast<delivery_status>(i);
  }
  return std::nullopt;
}

std::string delivery_id(std::string_view event_id, std::string_view endpoint_id,
                        std::string_view bucket) {
  std::string id;
  id.reserve(4 + bucket.size() + 18);
  append_delivery_id(id, event_id, endpoint_id, bucket);
  return id;
}

void append_delivery_id(std::string& out, std::string_view event_id, std::string_view endpoint_id,
                        std::string_view bucket) {
  out.append("dlv_").append(bucket);
  signing::append_sha256_hex(out, {event_id, "\n", endpoint_id}, 18);
}

std::string_view bucket_of(std::string_view delivery_id) {
  return delivery_id.size() >= 10 ? delivery_id.substr(4, 6) : std::string_view{};
}

namespace {

/// The text of a JSON string field; nullopt when it is not one.
std::optional<std::string> json_string_field(std::string_view field) {
  auto j = json_or_text(field);
  if (field.empty() || field.front() != '"' || !j.is_string()) return std::nullopt;
  return j.get<std::string>();
}

nlohmann::json stored_attempt_json(std::string_view stored) {
  std::array<std::string_view, 7> f;
  if (!split_fields(stored, f)) return nlohmann::json::object();
  const auto attempt = to_int<int>(f[0]);
  const auto started = to_int<std::int64_t>(f[1]);
  const auto duration = to_int<std::int64_t>(f[2]);
  const auto code = to_int<int>(f[3]);
  auto error = f[5].empty() ? std::optional<std::string>() : json_string_field(f[5]);
  auto excerpt = json_string_field(f[6]);
  if (!attempt || !started || !duration || (!code && !f[3].empty()) ||
      (f[4] != "m" && f[4] != "s") || (!error && !f[5].empty()) || !excerpt) {
    return nlohmann::json::object();
  }
  return {{"attempt", *attempt},
          {"started_at", format_rfc3339(*started)},
          {"duration_ms", *duration},
          {"status_code", code ? nlohmann::json(*code) : nlohmann::json(nullptr)},
          {"error", error ? nlohmann::json(std::move(*error)) : nlohmann::json(nullptr)},
          {"response_excerpt", std::move(*excerpt)},
          {"trigger", f[4] == "m" ? "manual" : "scheduled"}};
}

}  // namespace

std::string to_storage(const attempt_record& a) {
  // Tab-separated (layout 4), not a JSON object: the keys were about 90 of an attempt's
  // bytes in Redis, kept for every retained delivery. Written by hand: this runs once per
  // attempt, and a document cost about 18 allocations.
  std::string out;
  out.reserve(40 + a.error.size() + a.response_excerpt.size());
  append_integer(out, a.attempt);
  out += '\t';
  append_integer(out, a.started_at_ms);
  out += '\t';
  append_integer(out, a.duration_ms);
  out += '\t';
  if (a.status_code) append_integer(out, *a.status_code);
  out += a.cause == trigger::manual ? "\tm\t" : "\ts\t";
  if (!a.error.empty()) append_json_string(out, a.error);
  out += '\t';
  append_json_string(out, a.response_excerpt);
  return out;
}

nlohmann::json attempt_json(std::string_view stored) {
  if (!stored.starts_with('{')) return stored_attempt_json(stored);
  // Layout 3 stored a JSON object; such a line (written by hand) still shows.
  auto j = json_or_text(stored);
  if (!j.is_object()) return nlohmann::json::object();
  if (j.contains("started_at") && j["started_at"].is_number_integer()) {
    j["started_at"] = format_rfc3339(j["started_at"].get<std::int64_t>());
  }
  return j;
}

std::string record_text(std::string_view text) {
  std::string out;
  append_record_text(out, text);
  return out;
}

void append_record_text(std::string& out, std::string_view text) {
  const std::size_t from = out.size();
  out.append(text);
  for (auto it = out.begin() + static_cast<std::ptrdiff_t>(from); it != out.end(); ++it) {
    if (*it == '\t' || *it == '\n' || *it == '\r') *it = ' ';
  }
}

std::optional<delivery_record> parse_delivery_record(std::string_view packed) {
  const auto newline = packed.find('\n');
  std::array<std::string_view, 10> f;
  if (!split_fields(packed.substr(0, newline), f)) return std::nullopt;
  delivery_record r;
  const auto status = parse_status(f[0]);
  const auto count = to_int<int>(f[1]);
  const auto created = to_int<std::int64_t>(f[4]);
  const auto updated = to_int<std::int64_t>(f[5]);
  if (!status || !count || !created || !updated || f[7].empty()) return std::nullopt;
  r.status = *status;
  r.attempt_count = *count;
  r.last_status_code = to_int<int>(f[2]);
  r.next_attempt_at_ms = to_int<std::int64_t>(f[3]);
  r.created_at_ms = *created;
  r.updated_at_ms = *updated;
  r.manual = f[6] == "1";
  r.event_id = f[7];
  r.endpoint_id = f[8];
  r.last_error = f[9];
  for (auto rest = newline == std::string_view::npos ? std::string_view{}
                                                     : packed.substr(newline + 1);
       !rest.empty();) {
    const auto end = rest.find('\n');
    if (end != 0) r.attempts.emplace_back(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  }
  return r;
}

std::string pack(const delivery_record& r) {
  return pack(r, {});
}

std::string pack(const delivery_record& r, std::string_view attempt) {
  // Appended in place: once per first attempt on the delivery path, where the list of
  // nine temporary strings this was built from cost six allocations.
  std::string out;
  out.reserve(
      97 + r.event_id.size() + r.endpoint_id.size() + r.last_error.size() + attempt.size() +
      std::accumulate(r.attempts.begin(), r.attempts.end(), std::size_t{0},
                      [](std::size_t n, const std::string& a) { return n + a.size() + 1; }));
  out.append(to_string(r.status)).append("\t");
  append_integer(out, r.attempt_count);
  out += '\t';
  if (r.last_status_code) append_integer(out, *r.last_status_code);
  out += '\t';
  if (r.next_attempt_at_ms) append_integer(out, *r.next_attempt_at_ms);
  out += '\t';
  append_integer(out, r.created_at_ms);
  out += '\t';
  append_integer(out, r.updated_at_ms);
  out.append(r.manual ? "\t1\t" : "\t0\t");
  out.append(r.event_id).append("\t").append(r.endpoint_id).append("\t");
  append_record_text(out, r.last_error);
  for (const auto& a : r.attempts) out.append("\n").append(a);
  if (!attempt.empty()) out.append("\n").append(attempt);
  return out;
}

std::optional<event_record> parse_event_record(std::string_view packed) {
  packed = packed.substr(0, packed.find('\n'));
  std::array<std::string_view, 6> f;
  if (!split_fields(packed, f)) return std::nullopt;
  const auto received = to_int<std::int64_t>(f[3]);
  if (!received || f[0].empty()) return std::nullopt;
  event_record r{std::string(f[0]), std::string(f[1]), std::string(f[2]),
                 *received,         std::string(f[4]), {}};
  for (auto rest = f[5]; !rest.empty();) {
    const auto comma = rest.find(',');
    r.delivery_ids.emplace_back(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  return r;
}

void append_event_head(std::string& out, std::string_view type, std::string_view consumerid,
                       std::string_view connectionid, std::string_view received_at_ms,
                       std::string_view order) {
  for (const auto field : {type, consumerid, connectionid, received_at_ms, order}) {
    out.append(field).append("\t");
  }
}

std::string pack(const event_record& r) {
  std::string out;
  append_event_head(out, r.type, r.consumerid, r.connectionid, std::to_string(r.received_at_ms),
                    r.order);
  for (std::size_t i = 0; i < r.delivery_ids.size(); ++i) {
    if (i > 0) out += ',';
    out += r.delivery_ids[i];
  }
  return out;
}

std::optional<std::string_view> event_payload(std::string_view stored) {
  const auto nl = stored.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  return stored.substr(nl + 1);
}

nlohmann::json delivery_json(std::string_view id, const delivery_record& d,
                             const event_record* event) {
  nlohmann::json j;
  j["id"] = id;
  j["event_id"] = d.event_id;
  j["endpoint_id"] = text_or_null(d.endpoint_id);
  j["event"] = event ? text_or_null(event->type) : nullptr;
  j["consumerid"] = event ? text_or_null(event->consumerid) : nullptr;
  j["connectionid"] = event ? text_or_null(event->connectionid) : nullptr;
  j["status"] = to_string(d.status);
  j["attempt_count"] = d.attempt_count;
  j["last_status_code"] =
      d.last_status_code ? nlohmann::json(*d.last_status_code) : nlohmann::json(nullptr);
  j["last_error"] = text_or_null(d.last_error);
  j["next_attempt_at"] = time_or_null(d.next_attempt_at_ms);
  j["created_at"] = format_rfc3339(d.created_at_ms);
  j["updated_at"] = format_rfc3339(d.updated_at_ms);
  return j;
}

}  // namespace dispatcher::history
