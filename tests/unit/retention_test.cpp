// The rules that bound the event stream without losing work: the XTRIM MINID choice never
// reaches an unread or unacknowledged entry, and batches split into bounded script calls.
#include "dispatcher/ingest/retention.hpp"

#include <gtest/gtest.h>

namespace dispatcher::ingest {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t now = 10'000'000;  // ms
constexpr std::chrono::milliseconds retention = 1h;
constexpr std::int64_t cutoff = now - 3'600'000;

group_position group(std::string name, std::string last, std::optional<std::string> pending = {}) {
  return {std::move(name), std::move(last), std::move(pending)};
}

TEST(stream_id, parses_and_orders_like_redis) {
  EXPECT_EQ(parse_stream_id("1700000000000-3"), (stream_id{1'700'000'000'000, 3}));
  EXPECT_EQ(parse_stream_id("42"), (stream_id{42, 0}));
  EXPECT_FALSE(parse_stream_id(""));
  EXPECT_FALSE(parse_stream_id("1-"));
  EXPECT_FALSE(parse_stream_id("-1"));
  EXPECT_FALSE(parse_stream_id("1-2-3"));
  EXPECT_FALSE(parse_stream_id("x-1"));
  EXPECT_LT((stream_id{5, 9}), (stream_id{6, 0}));
  EXPECT_LT((stream_id{5, 9}), (stream_id{5, 10}));
  EXPECT_EQ(to_string(stream_id{7, 2}), "7-2");
}

TEST(stream_id, next_is_the_smallest_larger_id) {
  EXPECT_EQ(next_stream_id({7, 2}), (stream_id{7, 3}));
  EXPECT_EQ(next_stream_id({7, UINT64_MAX}), (stream_id{8, 0}));
}

TEST(trim_min_id, everything_read_and_acknowledged_trims_up_to_the_retention) {
  const auto id = trim_min_id(now, retention, {group("dispatcher", "9999999-0")}, "dispatcher");
  EXPECT_EQ(id, std::to_string(cutoff) + "-0");
}

TEST(trim_min_id, never_reaches_an_unread_entry) {
  // The group read up to 5000-4: 5000-5 onwards is unread and stays; 5000-4 itself goes.
  EXPECT_EQ(trim_min_id(now, retention, {group("dispatcher", "5000-4")}, "dispatcher"), "5000-5");
}

TEST(trim_min_id, never_reaches_a_pending_entry) {
  EXPECT_EQ(trim_min_id(now, retention, {group("dispatcher", "9000-0", "4000-2")}, "dispatcher"),
            "4000-2");
}

TEST(trim_min_id, every_group_on_the_stream_is_respected) {
  const std::vector<group_position> groups{group("dispatcher", "9999999-0"),
                                           group("analytics", "3000-0", "2000-7")};
  EXPECT_EQ(trim_min_id(now, retention, groups, "dispatcher"), "2000-7");
  // A group created at "0" that has read nothing keeps everything.
  EXPECT_EQ(trim_min_id(now, retention, {group("dispatcher", "9999999-0"), group("new", "0-0")},
                        "dispatcher"),
            "0-1");
}

TEST(trim_min_id, nothing_without_our_group_or_with_an_unreadable_position) {
  EXPECT_FALSE(trim_min_id(now, retention, {}, "dispatcher"));
  EXPECT_FALSE(trim_min_id(now, retention, {group("other", "9999999-0")}, "dispatcher"));
  EXPECT_FALSE(trim_min_id(now, retention, {group("dispatcher", "")}, "dispatcher"));
  EXPECT_FALSE(
      trim_min_id(now, retention, {group("dispatcher", "9999999-0", "junk")}, "dispatcher"));
}

TEST(trim_min_id, nothing_when_the_retention_reaches_before_the_epoch) {
  EXPECT_FALSE(trim_min_id(1000, retention, {group("dispatcher", "999-0")}, "dispatcher"));
}

TEST(split_calls, keeps_calls_within_the_bound_and_items_whole) {
  EXPECT_EQ(split_calls({}, 100), (std::vector<std::size_t>{}));
  EXPECT_EQ(split_calls({10, 10, 10}, 100), (std::vector<std::size_t>{3}));
  EXPECT_EQ(split_calls({40, 40, 40, 40}, 100), (std::vector<std::size_t>{2, 4}));
  EXPECT_EQ(split_calls({50, 50, 50}, 100), (std::vector<std::size_t>{2, 3}));
  // An item above the bound is a call of its own.
  EXPECT_EQ(split_calls({10, 500, 10}, 100), (std::vector<std::size_t>{1, 2, 3}));
  EXPECT_EQ(split_calls({500}, 100), (std::vector<std::size_t>{1}));
}

TEST(split_calls, ten_thousand_events_fit_in_calls_of_bounded_size) {
  const std::vector<std::size_t> sizes(10'000, 12);
  const auto ends = split_calls(sizes, 9'991);
  std::size_t begin = 0;
  for (const auto end : ends) {
    EXPECT_LE((end - begin) * 12, 9'991u);
    EXPECT_GT(end, begin);
    begin = end;
  }
  EXPECT_EQ(begin, sizes.size());
}

}  // namespace
}  // namespace dispatcher::ingest
