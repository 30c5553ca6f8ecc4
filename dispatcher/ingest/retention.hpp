// Decisions that keep the event stream bounded without losing work: which stream ids a
// trim may remove, and how a batch of events is split into script calls of bounded
// size. Pure functions, so the rules that guard against losing entries are unit-tested
// without Redis; the trimmer and the stream reader only carry them out.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dispatcher::ingest {

/// A stream entry id "<ms>-<seq>", ordered as Redis orders them.
struct stream_id {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  auto operator<=>(const stream_id&) const = default;
};

/// Parses "ms-seq" (or a bare "ms", which Redis reads as "ms-0"); nullopt otherwise.
std::optional<stream_id> parse_stream_id(std::string_view text);
std::string to_string(const stream_id& id);
/// The smallest id after `id`.
stream_id next_stream_id(const stream_id& id);

/// What XINFO GROUPS and XPENDING say about one consumer group of the stream.
struct group_position {
  std::string name;
  std::string last_delivered;                 // entries after it are unread by the group
  std::optional<std::string> oldest_pending;  // read, not acknowledged; nullopt: none
};

/// The MINID for XTRIM: entries older than `retention` before `now_ms`, but never an entry
/// some group has not read yet or has read and not acknowledged. nullopt when nothing may
/// be trimmed: `required_group` (ours) is missing, a position cannot be parsed, or the
/// retention reaches back before the epoch.
std::optional<std::string> trim_min_id(std::int64_t now_ms, std::chrono::milliseconds retention,
                                       const std::vector<group_position>& groups,
                                       std::string_view required_group);

/// The newest hour bucket (redis/keys.hpp) whose every record is older than `retention`
/// before `now_ms`, as its hour number; buckets up to it may be dropped whole. nullopt when
/// none can be (the retention reaches back before the epoch).
std::optional<std::int64_t> last_expired_bucket(std::int64_t now_ms,
                                                std::chrono::milliseconds retention,
                                                std::int64_t bucket_ms);

/// Splits consecutive items of the given sizes (script arguments per event) into calls of
/// at most `max_size` each, never splitting an item: an item larger than `max_size` gets a
/// call of its own. Returns the end index (exclusive) of each call, in order.
std::vector<std::size_t> split_calls(const std::vector<std::size_t>& sizes, std::size_t max_size);

}  // namespace dispatcher::ingest
