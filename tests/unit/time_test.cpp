// RFC 3339 output and the two time input forms of the API.
#include "dispatcher/common/time.hpp"

#include <gtest/gtest.h>

namespace dispatcher {
namespace {

TEST(time, formats_whole_seconds_without_fraction) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1'700'000'000'000), "2023-11-14T22:13:20Z");
}

TEST(time, formats_milliseconds_when_nonzero) {
  EXPECT_EQ(format_rfc3339(1'700'000'000'123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(format_rfc3339(1'700'000'000'007), "2023-11-14T22:13:20.007Z");
}

TEST(time, formats_leap_day_and_year_ends) {
  // 2024-02-29T00:00:00Z and 2000-12-31T23:59:59Z (computed with `date -u -d ... +%s`).
  EXPECT_EQ(format_rfc3339(1'709'164'800'000), "2024-02-29T00:00:00Z");
  EXPECT_EQ(format_rfc3339(978'307'199'000), "2000-12-31T23:59:59Z");
}

TEST(time, formats_times_before_the_epoch) {
  EXPECT_EQ(format_rfc3339(-500), "1969-12-31T23:59:59.500Z");
  EXPECT_EQ(format_rfc3339(-86'400'000), "1969-12-31T00:00:00Z");
}

TEST(time, parses_unix_seconds) {
  EXPECT_EQ(parse_time("1700000000"), 1'700'000'000'000);
  EXPECT_EQ(parse_time("0"), 0);
}

TEST(time, parses_rfc3339_utc) {
  EXPECT_EQ(parse_time("2023-11-14T22:13:20Z"), 1'700'000'000'000);
  EXPECT_EQ(parse_time("2023-11-14t22:13:20z"), 1'700'000'000'000);
}

TEST(time, parses_rfc3339_offsets) {
  // `date -u -d '2024-02-29T12:34:56+05:30' +%s` = 1709190296
  EXPECT_EQ(parse_time("2024-02-29T12:34:56+05:30"), 1'709'190'296'000);
  EXPECT_EQ(parse_time("2023-11-14T17:13:20-05:00"), 1'700'000'000'000);
  EXPECT_EQ(parse_time("2023-11-14T22:13:20+00:00"), 1'700'000'000'000);
}

TEST(time, parses_fractional_seconds_to_milliseconds) {
  EXPECT_EQ(parse_time("2023-11-14T22:13:20.123Z"), 1'700'000'000'123);
  EXPECT_EQ(parse_time("2023-11-14T22:13:20.5Z"), 1'700'000'000'500);
  EXPECT_EQ(parse_time("2023-11-14T22:13:20.123999Z"), 1'700'000'000'123);
  EXPECT_EQ(parse_time("1969-12-31T23:59:59.5Z"), -500);
}

TEST(time, format_and_parse_round_trip) {
  for (const std::int64_t ms : {std::int64_t{0}, std::int64_t{1'700'000'000'123},
                                std::int64_t{4'102'444'800'000}, std::int64_t{951'782'400'999}}) {
    EXPECT_EQ(parse_time(format_rfc3339(ms)), ms) << ms;
  }
}

TEST(time, rejects_malformed_input) {
  for (const char* text :
       {"", "abc", "-5", "12.5", "1700000000s", "2023-11-14", "2023-11-14T22:13:20",
        "2023-11-14T22:13Z", "2023-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2023-11-31T00:00:00Z",
        "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z", "2023-11-14T22:13:20.Z",
        "2023-11-14T22:13:20+0530", "2023-11-14T22:13:20Z junk", "2023-1-14T22:13:20Z",
        "9999999999999"}) {
    EXPECT_EQ(parse_time(text), std::nullopt) << text;
  }
}

TEST(time, now_is_after_2024_and_in_milliseconds) {
  const std::int64_t now = unix_now_ms();
  EXPECT_GT(now, 1'704'067'200'000);   // 2024-01-01
  EXPECT_LT(now, 32'503'680'000'000);  // 3000-01-01: not microseconds
}

}  // namespace
}  // namespace dispatcher
