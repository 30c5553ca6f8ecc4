// Durations as operators write them in DISPATCHER_* settings.
#include "dispatcher/config/duration.hpp"

#include <gtest/gtest.h>

namespace dispatcher::config {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

TEST(duration, parses_every_unit) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("5s"), 5s);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_EQ(parse_duration("30d"), 720h);
}

TEST(duration, parses_multi_digit_values) {
  EXPECT_EQ(parse_duration("15000ms"), 15s);
  EXPECT_EQ(parse_duration("90m"), 90min);
}

TEST(duration, rejects_malformed_text) {
  for (const char* text : {"", "s", "5", "5x", "5 s", " 5s", "5s ", "-5s", "+5s", "1.5s", "5S",
                           "5sec", "5ms5", "5min", "ms", "1234567890123s"}) {
    EXPECT_EQ(parse_duration(text), std::nullopt) << text;
  }
}

TEST(duration, large_values_are_exact) {
  const auto parsed = parse_duration("999999999ms");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->count(), 999'999'999);
  const auto days = parse_duration("99999999d");
  ASSERT_TRUE(days);
  EXPECT_EQ(days->count(), 99'999'999LL * 86'400'000);
}

TEST(duration_list, parses_the_default_retry_schedule) {
  const auto parsed = parse_duration_list("5s,5m,30m,2h,5h,10h,10h");
  ASSERT_TRUE(parsed);
  const std::vector<milliseconds> expected{5s, 5min, 30min, 2h, 5h, 10h, 10h};
  EXPECT_EQ(*parsed, expected);
}

TEST(duration_list, tolerates_spaces_around_items) {
  const auto parsed = parse_duration_list(" 250ms , 1s,2s ");
  ASSERT_TRUE(parsed);
  const std::vector<milliseconds> expected{250ms, 1s, 2s};
  EXPECT_EQ(*parsed, expected);
}

TEST(duration_list, single_item_is_a_list_of_one) {
  const auto parsed = parse_duration_list("5s");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, std::vector<milliseconds>{5s});
}

TEST(duration_list, rejects_any_bad_item) {
  for (const char* text : {"", "5s,", ",5s", "5s,,5m", "5s,x", "5s;5m"}) {
    EXPECT_EQ(parse_duration_list(text), std::nullopt) << text;
  }
}

TEST(duration_format, picks_the_largest_exact_unit) {
  EXPECT_EQ(format_duration(300000ms), "5m");
  EXPECT_EQ(format_duration(5s), "5s");
  EXPECT_EQ(format_duration(2h), "2h");
  EXPECT_EQ(format_duration(720h), "30d");
  EXPECT_EQ(format_duration(90min), "90m");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(0ms), "0ms");
}

TEST(duration_format, round_trips_through_parse) {
  for (const milliseconds d : {milliseconds(250ms), milliseconds(5s), milliseconds(25h),
                               milliseconds(61s), milliseconds(7 * 24h)}) {
    EXPECT_EQ(parse_duration(format_duration(d)), d) << d.count();
  }
}

TEST(duration, zero_and_overflowing_values_are_rejected) {
  EXPECT_FALSE(parse_duration("0s"));
  EXPECT_FALSE(parse_duration("0ms"));
  EXPECT_FALSE(parse_duration("999999999999d"));
  EXPECT_FALSE(parse_duration_list("5s,0s"));
}

TEST(duration, a_zero_is_told_apart_from_text_that_is_no_duration) {
  // Settings read with parse_duration_or_zero, so "0s" can be refused as "must be positive".
  for (const char* zero : {"0", "0s", "0ms", "00m", "0d"}) {
    EXPECT_EQ(parse_duration_or_zero(zero), 0ms) << zero;
    EXPECT_FALSE(parse_duration(zero)) << zero;
  }
  EXPECT_EQ(parse_duration_or_zero("5s"), 5s);
  for (const char* bad : {"", "5", "0x", "-0s", "0 s", "s"}) {
    EXPECT_FALSE(parse_duration_or_zero(bad)) << bad;
  }
  EXPECT_EQ(parse_duration_list("5s,0s", true), (std::vector<milliseconds>{5s, 0ms}));
}

}  // namespace
}  // namespace dispatcher::config
