// The origin of the delivery latency histogram; see latency.hpp.
#include "dispatcher/delivery/latency.hpp"

#include <charconv>

namespace dispatcher::delivery {

std::int64_t stream_entry_ms(std::string_view entry_id) {
  const auto dash = entry_id.find('-');
  if (dash == 0 || dash == std::string_view::npos) return 0;
  std::int64_t ms = 0;
  const auto* end = entry_id.data() + dash;
  const auto [p, ec] = std::from_chars(entry_id.data(), end, ms);
  if (ec != std::errc{} || p != end || ms < 0) return 0;
  std::uint64_t seq = 0;
  const auto* seq_end = entry_id.data() + entry_id.size();
  const auto [q, ec2] = std::from_chars(end + 1, seq_end, seq);
  if (ec2 != std::errc{} || q != seq_end) return 0;
  return ms;
}

std::int64_t latency_origin_ms(std::int64_t entry_ms, std::string_view event_id,
                               std::int64_t created_at_ms) {
  if (entry_ms > 0) return entry_ms;
  constexpr std::string_view assigned = "evt_";
  if (event_id.starts_with(assigned)) {
    if (const auto ms = stream_entry_ms(event_id.substr(assigned.size())); ms > 0) return ms;
  }
  return created_at_ms;
}

double latency_seconds(std::int64_t origin_ms, std::int64_t done_ms) {
  return done_ms > origin_ms ? static_cast<double>(done_ms - origin_ms) / 1000.0 : 0.0;
}

}  // namespace dispatcher::delivery
