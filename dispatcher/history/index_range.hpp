// The part of a list index (a sorted set scored by creation time) that one listing walks,
// newest first, a batch of members per read. Pure: it builds the reads and takes in their
// replies, so the paging is tested against a simulated sorted set (index_range_test).
//
// Paging by offset alone shifts when members are added between reads: a delivery created
// in the millisecond the walk started at sorts among the members already read, and the
// next read returns one of them again. So each read after the first starts at the score of
// the last member read, skipping by offset only the members of that score already read. An
// insert can then shift a walk only by landing on that exact, older millisecond.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "dispatcher/history/filter.hpp"
#include "dispatcher/redis/reply.hpp"

namespace dispatcher::history {

class index_range {
 public:
  index_range(const redis::keyspace& keys, const delivery_filter& f, std::size_t batch);

  redis::command next_read() const;
  /// Takes in a read's reply (member, score, ...): the next read starts after it.
  void advance(const std::vector<redis::reply>& flat);
  /// Whether that read reached the end of the range.
  bool last(const std::vector<redis::reply>& flat) const { return flat.size() / 2 < batch_; }
  /// Members read so far, over every read.
  std::size_t members_read() const noexcept { return members_read_; }

 private:
  std::string key_, max_;
  const std::string min_;
  const std::size_t batch_;
  std::size_t offset_ = 0;  // members at max_'s score already read
  std::size_t members_read_ = 0;
};

}  // namespace dispatcher::history
