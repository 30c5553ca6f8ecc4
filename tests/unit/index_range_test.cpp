// history/index_range against a simulated sorted set: every member of the range is read
// once, in ZREVRANGEBYSCORE order, whatever the batch size and however many members share
// a score; and a member created between reads in the millisecond the walk started at does
// not make the next read return a member again (offset paging over the whole range did).
#include "dispatcher/history/index_range.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <random>
#include <set>
#include <utility>

#include "dispatcher/redis/keys.hpp"

namespace dispatcher::history {
namespace {

const redis::keyspace stream_keys("lifecycle:events");

/// A sorted set, and ZREVRANGEBYSCORE key max min WITHSCORES LIMIT offset count on it.
class fake_index {
 public:
  void add(std::int64_t score, std::string member) { members_.emplace(score, std::move(member)); }

  std::vector<redis::reply> answer(const redis::command& c) const {
    const auto args = arguments(c);
    EXPECT_EQ(args.size(), 8u);
    EXPECT_EQ(args[0], "ZREVRANGEBYSCORE");
    EXPECT_EQ(args[4], "WITHSCORES");
    const auto above_max = [&](std::int64_t s) {
      if (args[2] == "+inf") return false;
      if (args[2][0] == '(') return s >= std::stoll(args[2].substr(1));
      return s > std::stoll(args[2]);
    };
    const auto below_min = [&](std::int64_t s) {
      return args[3] != "-inf" && s < std::stoll(args[3]);
    };
    auto offset = std::stoull(args[6]);
    auto count = std::stoull(args[7]);
    std::vector<redis::reply> out;
    for (auto it = members_.rbegin(); it != members_.rend() && count > 0; ++it) {
      if (above_max(it->first) || below_min(it->first)) continue;
      if (offset > 0) {
        --offset;
        continue;
      }
      out.push_back(text(it->second));
      out.push_back(text(std::to_string(it->first)));
      --count;
    }
    return out;
  }

 private:
  static redis::reply text(std::string s) {
    redis::reply r;
    r.type = redis::reply::kind::string;
    r.str = std::move(s);
    return r;
  }
  /// The command's arguments, read back from its RESP encoding.
  static std::vector<std::string> arguments(const redis::command& c) {
    std::string resp;
    c.append_to(resp);
    std::vector<std::string> out;
    std::size_t at = resp.find("\r\n") + 2;
    while (at < resp.size()) {
      const auto end = resp.find("\r\n", at);
      const auto length = std::stoull(resp.substr(at + 1, end - at - 1));
      out.push_back(resp.substr(end + 2, length));
      at = end + 2 + length + 2;
    }
    return out;
  }

  std::set<std::pair<std::int64_t, std::string>> members_;
};

/// Walks the range to its end; `between` runs after each read.
std::vector<std::string> walk(
    const fake_index& index, index_range range, const std::function<void()>& between = [] {}) {
  std::vector<std::string> read;
  for (int reads = 0; reads < 1000; ++reads) {
    const auto flat = index.answer(range.next_read());
    range.advance(flat);
    for (std::size_t i = 0; i < flat.size(); i += 2) read.push_back(flat[i].str);
    if (range.last(flat)) return read;
    between();
  }
  ADD_FAILURE() << "the walk did not end";
  return read;
}

/// The members in ZREVRANGEBYSCORE order: score descending, then member descending.
std::vector<std::string> newest_first(std::vector<std::pair<std::int64_t, std::string>> all) {
  std::sort(all.begin(), all.end(), std::greater<>());
  std::vector<std::string> out;
  for (auto& [score, member] : all) out.push_back(member);
  return out;
}

TEST(IndexRange, reads_every_member_once_in_order_for_any_batch_and_ties) {
  std::mt19937 random(7);
  for (int round = 0; round < 200; ++round) {
    fake_index index;
    std::vector<std::pair<std::int64_t, std::string>> all;
    const int members = static_cast<int>(random() % 40);
    const int scores = 1 + static_cast<int>(random() % 6);  // few scores: long runs of ties
    for (int i = 0; i < members; ++i) {
      const std::int64_t score = 1'700'000'000'000 + static_cast<std::int64_t>(random() % scores);
      all.emplace_back(score, "d" + std::to_string(1000 + i));
      index.add(all.back().first, all.back().second);
    }
    const std::size_t batch = 1 + random() % 7;
    EXPECT_EQ(walk(index, index_range(stream_keys, delivery_filter{}, batch)), newest_first(all))
        << "round " << round << ", batch " << batch;
  }
}

TEST(IndexRange, a_member_created_in_the_walks_first_millisecond_does_not_repeat_one) {
  // Two deliveries in the newest millisecond and one older: the first read (batch 3) has
  // all three. Then a delivery is created in that same millisecond, sorting first.
  fake_index index;
  index.add(2000, "d-b");
  index.add(2000, "d-a");
  index.add(1000, "d-c");
  index.add(900, "d-d");
  index.add(800, "d-e");
  bool added = false;
  const auto read = walk(index, index_range(stream_keys, delivery_filter{}, 3), [&] {
    if (!added) index.add(2000, "d-z");
    added = true;
  });
  // Offset paging over the range pinned at 2000 read "d-c" again (offset 3 from the top,
  // which "d-z" now heads).
  EXPECT_EQ(read, (std::vector<std::string>{"d-b", "d-a", "d-c", "d-d", "d-e"}));
}

TEST(IndexRange, members_read_counts_every_read) {
  fake_index index;
  for (int i = 0; i < 10; ++i) index.add(1000 + i / 3, "d" + std::to_string(i));
  index_range range(stream_keys, delivery_filter{}, 4);
  std::size_t reads = 0;
  for (;;) {
    const auto flat = index.answer(range.next_read());
    range.advance(flat);
    ++reads;
    if (range.last(flat)) break;
  }
  EXPECT_EQ(range.members_read(), 10u);
  EXPECT_EQ(reads, 3u);
}

TEST(IndexRange, keeps_to_the_filters_time_range_and_cursor_score) {
  fake_index index;
  for (std::int64_t s = 1000; s < 1010; ++s) index.add(s, "d" + std::to_string(s));
  delivery_filter f;
  f.since_ms = 1002;  // inclusive
  f.until_ms = 1007;  // exclusive
  EXPECT_EQ(walk(index, index_range(stream_keys, f, 2)),
            (std::vector<std::string>{"d1006", "d1005", "d1004", "d1003", "d1002"}));
  delivery_filter after;
  after.after = cursor{1003, "d1003", {}};  // inclusive: the walk skips ids it returned
  EXPECT_EQ(walk(index, index_range(stream_keys, after, 3)),
            (std::vector<std::string>{"d1003", "d1002", "d1001", "d1000"}));
}

}  // namespace
}  // namespace dispatcher::history
