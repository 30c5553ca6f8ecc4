// The backlog gauges' reply decoding (XINFO GROUPS) and the origin of the delivery latency.
#include "dispatcher/delivery/group_backlog.hpp"

#include <gtest/gtest.h>

#include "dispatcher/delivery/latency.hpp"
#include "tests/support/replies.hpp"

namespace dispatcher::delivery {
namespace {

using testing::array_reply;
using testing::integer_reply;
using testing::string_reply;

redis::reply group_row(std::string name, long long pending, redis::reply lag) {
  // Redis 7.0's fields, in its order.
  return array_reply({string_reply("name"), string_reply(std::move(name)),
                      string_reply("consumers"), integer_reply(1), string_reply("pending"),
                      integer_reply(pending), string_reply("last-delivered-id"),
                      string_reply("1700000000000-0"), string_reply("entries-read"),
                      integer_reply(7), string_reply("lag"), std::move(lag)});
}

TEST(group_backlog, finds_the_named_group_among_several) {
  const auto reply = array_reply(
      {group_row("other", 9, integer_reply(100)), group_row("dispatcher", 3, integer_reply(42))});
  const auto g = find_group_backlog(reply, "dispatcher");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->pending, 3);
  ASSERT_TRUE(g->lag);
  EXPECT_EQ(*g->lag, 42);
}

TEST(group_backlog, a_nil_lag_is_unknown_not_zero) {
  const auto g =
      find_group_backlog(array_reply({group_row("dispatcher", 0, redis::reply{})}), "dispatcher");
  ASSERT_TRUE(g);
  EXPECT_FALSE(g->lag);
}

TEST(group_backlog, a_missing_group_or_a_strange_reply_is_nothing) {
  EXPECT_FALSE(
      find_group_backlog(array_reply({group_row("other", 1, integer_reply(1))}), "dispatcher"));
  EXPECT_FALSE(find_group_backlog(string_reply("ERR no such key"), "dispatcher"));
  EXPECT_FALSE(find_group_backlog(
      array_reply({array_reply({string_reply("name"), string_reply("dispatcher")})}),
      "dispatcher"));
}

TEST(latency, the_entry_time_is_read_from_a_stream_id) {
  EXPECT_EQ(stream_entry_ms("1700000000123-4"), 1700000000123);
  EXPECT_EQ(stream_entry_ms("1700000000123"), 0);
  EXPECT_EQ(stream_entry_ms("-4"), 0);
  EXPECT_EQ(stream_entry_ms("abc-1"), 0);
  EXPECT_EQ(stream_entry_ms("17-x"), 0);
}

TEST(latency, counts_from_the_entry_then_an_assigned_event_id_then_the_creation) {
  EXPECT_EQ(latency_origin_ms(1000, "evt_2000-0", 3000), 1000);
  EXPECT_EQ(latency_origin_ms(0, "evt_2000-0", 3000), 2000);
  EXPECT_EQ(latency_origin_ms(0, "order-2000-0", 3000), 3000);
  EXPECT_EQ(latency_origin_ms(0, "evt_nope", 3000), 3000);
}

TEST(latency, seconds_are_never_negative) {
  EXPECT_DOUBLE_EQ(latency_seconds(1000, 3500), 2.5);
  EXPECT_DOUBLE_EQ(latency_seconds(5000, 3500), 0.0);
}

}  // namespace
}  // namespace dispatcher::delivery
