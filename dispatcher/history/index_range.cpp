#include "dispatcher/history/index_range.hpp"

namespace dispatcher::history {

index_range::index_range(const redis::keyspace& keys, const delivery_filter& f, std::size_t batch)
    : key_(index_key(keys, f)),
      max_(f.after      ? std::to_string(f.after->score)
           : f.until_ms ? "(" + std::to_string(*f.until_ms)
                        : std::string("+inf")),
      min_(f.since_ms ? std::to_string(*f.since_ms) : std::string("-inf")),
      batch_(batch) {}

redis::command index_range::next_read() const {
  return redis::command("ZREVRANGEBYSCORE", key_, max_, min_, "WITHSCORES", "LIMIT",
                        std::to_string(offset_), std::to_string(batch_));
}

void index_range::advance(const std::vector<redis::reply>& flat) {
  const std::size_t members = flat.size() / 2;
  if (members == 0) return;
  members_read_ += members;
  // Scores come back as Redis prints them, as do the bounds this class writes: one score
  // compares equal as text.
  const std::string& lowest = flat[2 * members - 1].str;
  std::size_t at_lowest = 0;
  while (at_lowest < members && flat[2 * (members - 1 - at_lowest) + 1].str == lowest) {
    ++at_lowest;
  }
  if (lowest == max_) {
    offset_ += at_lowest;  // the whole read had the bound's score: page on among them
  } else {
    max_ = lowest;
    offset_ = at_lowest;
  }
}

}  // namespace dispatcher::history
