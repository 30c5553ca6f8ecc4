// Ordering per connection (retry/ordering.hpp): where an ingested delivery goes, and what
// lets the next one go. No Redis.
#include "dispatcher/retry/ordering.hpp"

#include <gtest/gtest.h>

#include "dispatcher/history/connection.hpp"

namespace dispatcher::retry {
namespace {

using history::delivery_status;
using history::stream_order_key;

TEST(ordering, only_endpoints_that_ask_and_events_with_a_connection_are_ordered) {
  EXPECT_TRUE(is_ordered(true, "c0a8"));
  EXPECT_FALSE(is_ordered(true, ""));
  EXPECT_FALSE(is_ordered(false, "c0a8"));
}

TEST(ordering, the_first_delivery_of_a_connection_is_its_head) {
  EXPECT_EQ(place_on_ingest(std::nullopt, stream_order_key("5-0")), ingest_place::head);
}

TEST(ordering, a_later_delivery_waits_behind_an_unfinished_head) {
  const chain_head head{stream_order_key("5-0"), true};
  EXPECT_EQ(place_on_ingest(head, stream_order_key("6-0")), ingest_place::hold);
  const chain_head not_started{stream_order_key("5-0"), false};
  EXPECT_EQ(place_on_ingest(not_started, stream_order_key("5-1")), ingest_place::hold);
}

TEST(ordering, an_earlier_event_read_late_takes_over_a_head_that_has_not_started) {
  // Stream order, not string length: 999-0 comes before 1000-0.
  const chain_head head{stream_order_key("1000-0"), false};
  EXPECT_EQ(place_on_ingest(head, stream_order_key("999-0")), ingest_place::take_over);
}

TEST(ordering, a_head_that_started_keeps_its_place) {
  const chain_head head{stream_order_key("1000-0"), true};
  EXPECT_EQ(place_on_ingest(head, stream_order_key("999-0")), ingest_place::hold);
}

TEST(ordering, a_head_goes_when_nothing_older_is_pending) {
  EXPECT_EQ(start_head(stream_order_key("1000-0"), std::nullopt), head_start::go);
  // Later entries read by other instances do not hold it.
  EXPECT_EQ(start_head(stream_order_key("1000-0"), "1000-1"), head_start::go);
  EXPECT_EQ(start_head(stream_order_key("1000-0"), "1001-0"), head_start::go);
}

TEST(ordering, a_head_waits_while_an_older_entry_is_pending) {
  EXPECT_EQ(start_head(stream_order_key("1000-5"), "1000-4"), head_start::wait);
  EXPECT_EQ(start_head(stream_order_key("1000-0"), "999-7"), head_start::wait);
}

TEST(ordering, stream_ids_compare_as_numbers_not_strings) {
  // As strings "999-0" > "1000-0" and "7-10" < "7-9"; as stream ids the opposite.
  EXPECT_EQ(start_head(stream_order_key("1000-0"), "999-0"), head_start::wait);
  EXPECT_EQ(start_head(stream_order_key("999-0"), "1000-0"), head_start::go);
  EXPECT_EQ(start_head(stream_order_key("7-9"), "7-10"), head_start::go);
  EXPECT_EQ(start_head(stream_order_key("7-10"), "7-9"), head_start::wait);
  EXPECT_EQ(start_head(stream_order_key("1732900000000-0"), "1732899999999-18446744073709551615"),
            head_start::wait);
}

TEST(ordering, the_next_goes_once_the_head_succeeded_or_failed) {
  EXPECT_TRUE(releases_next(delivery_status::succeeded));
  EXPECT_TRUE(releases_next(delivery_status::failed));
  EXPECT_FALSE(releases_next(delivery_status::retrying));
  EXPECT_FALSE(releases_next(delivery_status::pending));
}

}  // namespace
}  // namespace dispatcher::retry
