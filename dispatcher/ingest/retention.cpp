// Stream ids are compared as two 64-bit numbers, never as text or doubles: a trim that
// rounds one id up would drop an entry some consumer group has not acknowledged.
#include "dispatcher/ingest/retention.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace dispatcher::ingest {

namespace {

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<stream_id> parse_stream_id(std::string_view text) {
  const auto dash = text.find('-');
  const auto ms = parse_u64(text.substr(0, dash));
  if (!ms) return std::nullopt;
  if (dash == std::string_view::npos) return stream_id{*ms, 0};
  const auto seq = parse_u64(text.substr(dash + 1));
  if (!seq) return std::nullopt;
  return stream_id{*ms, *seq};
}

std::string to_string(const stream_id& id) {
  return std::to_string(id.ms) + "-" + std::to_string(id.seq);
}

stream_id next_stream_id(const stream_id& id) {
  if (id.seq == std::numeric_limits<std::uint64_t>::max()) return {id.ms + 1, 0};
  return {id.ms, id.seq + 1};
}

std::optional<std::string> trim_min_id(std::int64_t now_ms, std::chrono::milliseconds retention,
                                       const std::vector<group_position>& groups,
                                       std::string_view required_group) {
  const std::int64_t cutoff = now_ms - retention.count();
  if (cutoff <= 0) return std::nullopt;
  stream_id bound{static_cast<std::uint64_t>(cutoff), 0};
  bool required_seen = false;
  for (const auto& g : groups) {
    required_seen = required_seen || g.name == required_group;
    // Entries after last-delivered-id are unread: keep them for this group.
    const auto last = parse_stream_id(g.last_delivered);
    if (!last) return std::nullopt;
    bound = std::min(bound, next_stream_id(*last));
    if (g.oldest_pending) {
      const auto pending = parse_stream_id(*g.oldest_pending);
      if (!pending) return std::nullopt;
      bound = std::min(bound, *pending);
    }
  }
  if (!required_seen) return std::nullopt;
  return to_string(bound);
}

std::vector<std::size_t> split_calls(const std::vector<std::size_t>& sizes, std::size_t max_size) {
  std::vector<std::size_t> ends;
  std::size_t used = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (used > 0 && used + sizes[i] > max_size) {
      ends.push_back(i);
      used = 0;
    }
    used += sizes[i];
  }
  // The last call holds at least the item that opened it.
  if (!sizes.empty()) ends.push_back(sizes.size());
  return ends;
}

std::optional<std::int64_t> last_expired_bucket(std::int64_t now_ms,
                                                std::chrono::milliseconds retention,
                                                std::int64_t bucket_ms) {
  const std::int64_t cutoff = now_ms - retention.count();
  // Bucket h holds records from h * bucket_ms to (h + 1) * bucket_ms - 1: all expired
  // once its end is at or before the cutoff.
  if (cutoff < bucket_ms) return std::nullopt;
  return cutoff / bucket_ms - 1;
}

}  // namespace dispatcher::ingest
