// The member format is written by the ingest script too (redis/scripts.cpp); parsing is
// strict so a hand-written or damaged member is skipped rather than misread.
#include "dispatcher/history/connection.hpp"

#include <array>

#include "dispatcher/common/time.hpp"

namespace dispatcher::history {

namespace {

constexpr std::array<std::pair<char, std::string_view>, 3> known_types{{
    {'c', "account.connection.created"},
    {'u', "account.connection.updated"},
    {'d', "account.connection.deleted"},
}};

void append_number(std::string& out, std::string_view digits) {
  // Leading zeros would break the order by length; Redis never writes them.
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  out += static_cast<char>('a' + digits.size());
  out.append(digits);
}

bool is_digits(std::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string stream_order_key(std::string_view stream_id) {
  std::string out;
  out.reserve(stream_id.size() + 2);
  append_stream_order_key(out, stream_id);
  return out;
}

void append_stream_order_key(std::string& out, std::string_view stream_id) {
  const auto dash = stream_id.find('-');
  const auto ms = stream_id.substr(0, dash);
  const auto seq =
      dash == std::string_view::npos ? std::string_view("0") : stream_id.substr(dash + 1);
  append_number(out, is_digits(ms) ? ms : std::string_view("0"));
  append_number(out, is_digits(seq) ? seq : std::string_view("0"));
}

std::string pack(const history_member& m) {
  std::string out;
  out.reserve(m.order.size() + m.bucket.size() + m.event_id.size() + m.type.size() + 6);
  append_history_member(out, m.order, m.status, m.bucket, m.event_id, m.type);
  return out;
}

void append_history_member(std::string& out, std::string_view order, char status,
                           std::string_view bucket, std::string_view event_id,
                           std::string_view type) {
  out.append(order).append(1, '|').append(1, status).append(1, '|');
  out.append(bucket).append(1, '|').append(event_id).append(1, '|');
  for (const auto& [code, name] : known_types) {
    if (type == name) {
      out += code;
      return;
    }
  }
  out.append(type);
}

std::optional<history_member> parse_history_member(std::string_view text) {
  std::array<std::string_view, 5> parts;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto bar = i + 1 < parts.size() ? text.find('|') : std::string_view::npos;
    if (i + 1 < parts.size() && bar == std::string_view::npos) return std::nullopt;
    parts[i] = text.substr(0, bar);
    text = bar == std::string_view::npos ? std::string_view{} : text.substr(bar + 1);
  }
  if (parts[1].size() != 1 || parts[3].empty() || parts[4].empty()) return std::nullopt;
  const char status = parts[1][0];
  if (status != 'a' && status != 'i' && status != 'd' && status != '-') return std::nullopt;
  history_member m{std::string(parts[0]), status, std::string(parts[2]), std::string(parts[3]),
                   std::string(parts[4])};
  if (m.type.size() == 1) {
    for (const auto& [code, name] : known_types) {
      if (m.type[0] == code) m.type = std::string(name);
    }
  }
  return m;
}

char status_change(std::string_view type, std::string_view status) {
  if (!type.starts_with("account.connection.")) return '-';
  if (type == "account.connection.deleted") return 'd';
  if (status == "active") return 'a';
  if (status == "inactive") return 'i';
  return '-';
}

std::string_view status_name(char status) {
  switch (status) {
    case 'a':
      return "active";
    case 'i':
      return "inactive";
    case 'd':
      return "deleted";
    default:
      return {};
  }
}

nlohmann::json history_entry_json(const history_member& m, std::int64_t created_seconds) {
  nlohmann::json at = created_seconds;
  // The ingest script writes a checked `created`; a score written by hand is shown as
  // stored rather than overflowing the multiplication.
  if (created_seconds >= 0 && created_seconds <= max_rfc3339_seconds) {
    at = format_rfc3339(created_seconds * 1000);
  }
  return {{"event", m.type},
          {"status", status_name(m.status)},
          {"at", std::move(at)},
          {"event_id", m.event_id}};
}

}  // namespace dispatcher::history
