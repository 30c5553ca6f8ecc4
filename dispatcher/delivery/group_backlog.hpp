// The consumer group's backlog as XINFO GROUPS reports it (CONTRACT §6:
// dispatcher_stream_lag, dispatcher_stream_pending): the reply's decoding, pure and
// unit-tested; delivery/backlog samples it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "dispatcher/redis/reply.hpp"

namespace dispatcher::delivery {

/// One consumer group's row of XINFO GROUPS.
struct group_backlog {
  /// Entries added to the stream that the group has not read yet; nullopt when Redis cannot
  /// tell (it answers nil after entries were deleted from the middle of the stream, and
  /// after restarting from its AOF until the group has read the stream's last entry).
  std::optional<std::int64_t> lag;
  /// Entries read by a consumer of the group and not acknowledged.
  std::int64_t pending = 0;
};

/// Finds `group` in an XINFO GROUPS reply (RESP2: an array of flat name/value arrays);
/// nullopt when it is not there or the reply has another shape.
std::optional<group_backlog> find_group_backlog(const redis::reply& xinfo_groups,
                                                std::string_view group);

}  // namespace dispatcher::delivery
