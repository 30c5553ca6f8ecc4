// Where dispatcher_delivery_latency_seconds starts counting (CONTRACT §6: the stream
// entry's time). A delivery leased at ingest carries its entry's id; one claimed later (a
// retry, a backlog) carries only its event id, which names the entry when the dispatcher
// assigned it (evt_<entry id>), and otherwise its creation time, the moment the entry was
// read, which trails the entry by at most the stream lag of that moment.
#pragma once

#include <cstdint>
#include <string_view>

namespace dispatcher::delivery {

/// The milliseconds part of a stream entry id ("1700000000000-3" -> 1700000000000); 0 when
/// `entry_id` is not one.
std::int64_t stream_entry_ms(std::string_view entry_id);

/// The time the latency of a delivery counts from: the entry's time (`entry_ms`, or the
/// entry named by an `evt_` event id), else `created_at_ms`.
std::int64_t latency_origin_ms(std::int64_t entry_ms, std::string_view event_id,
                               std::int64_t created_at_ms);

/// Seconds from `origin_ms` to `done_ms`; never negative (clocks of two hosts differ).
double latency_seconds(std::int64_t origin_ms, std::int64_t done_ms);

}  // namespace dispatcher::delivery
