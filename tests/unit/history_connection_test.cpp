// The stream-order key of the connection status history (history/connection.hpp) at its
// edges: what Redis never writes (leading zeros, junk, over 20 digits) still gives a key,
// and keys of unequal length compare by their numbers. The main cases are in layout_test.cpp.
#include "dispatcher/history/connection.hpp"

#include <gtest/gtest.h>

namespace dispatcher::history {
namespace {

TEST(stream_order_key, each_part_is_its_digit_count_then_its_digits) {
  EXPECT_EQ(stream_order_key("0-0"), "b0b0");
  EXPECT_EQ(stream_order_key("12-345"), "c12d345");
  EXPECT_EQ(stream_order_key("18446744073709551615-0"), "u18446744073709551615b0");
}

TEST(stream_order_key, leading_zeros_do_not_change_the_order) {
  EXPECT_EQ(stream_order_key("007-01"), stream_order_key("7-1"));
  EXPECT_LT(stream_order_key("009-0"), stream_order_key("10-0"));
}

TEST(stream_order_key, a_part_that_is_not_a_number_counts_as_zero) {
  EXPECT_EQ(stream_order_key("x-3"), "b0b3");
  EXPECT_EQ(stream_order_key("5-"), "b5b0");
  EXPECT_EQ(stream_order_key(""), "b0b0");
  EXPECT_EQ(stream_order_key("123456789012345678901-1"), "b0b1");  // 21 digits
}

TEST(stream_order_key, the_sequence_orders_entries_of_the_same_millisecond) {
  EXPECT_LT(stream_order_key("1700000000000-9"), stream_order_key("1700000000000-10"));
  EXPECT_LT(stream_order_key("1700000000000-99999"), stream_order_key("1700000000001-0"));
}

}  // namespace
}  // namespace dispatcher::history
