// The retry decision, table-driven: every status class, the schedule's end, jitter bounds
// and Retry-After.
#include "dispatcher/retry/policy.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace dispatcher::retry {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// The contract's default: 5s,5m,30m,2h,5h,10h,10h (eight attempts).
const std::vector<milliseconds> default_schedule{5s, 5min, 30min, 2h, 5h, 10h, 10h};

attempt_outcome status(int code, std::optional<std::chrono::seconds> retry_after = {}) {
  return {code, retry_after};
}

TEST(retry_policy, a_failed_manual_replay_is_final_but_410_still_disables) {
  const attempt_outcome manual_500{500, std::nullopt, true};
  EXPECT_EQ(decide(manual_500, 1, default_schedule, 0).kind, action_kind::failed);
  const attempt_outcome manual_timeout{std::nullopt, std::nullopt, true};
  EXPECT_EQ(decide(manual_timeout, 3, default_schedule, 0).kind, action_kind::failed);
  const attempt_outcome manual_ok{204, std::nullopt, true};
  EXPECT_EQ(decide(manual_ok, 9, default_schedule, 0).kind, action_kind::succeeded);
  const attempt_outcome manual_gone{410, std::nullopt, true};
  EXPECT_EQ(decide(manual_gone, 2, default_schedule, 0).kind, action_kind::disable_endpoint);
}

TEST(retry_policy, success_statuses_succeed) {
  for (const int code : {200, 201, 202, 204, 299}) {
    EXPECT_EQ(decide(status(code), 1, default_schedule, 0).kind, action_kind::succeeded) << code;
    // Even on the last attempt.
    EXPECT_EQ(decide(status(code), 8, default_schedule, 0).kind, action_kind::succeeded) << code;
  }
}

TEST(retry_policy, gone_disables_endpoint) {
  EXPECT_EQ(decide(status(410), 1, default_schedule, 0).kind, action_kind::disable_endpoint);
  EXPECT_EQ(decide(status(410), 8, default_schedule, 0).kind, action_kind::disable_endpoint);
}

TEST(retry_policy, failures_follow_the_schedule_without_jitter) {
  struct row {
    int attempt;
    milliseconds delay;
  };
  for (const row r : {row{1, 5s}, row{2, 5min}, row{3, 30min}, row{4, 2h}, row{5, 5h}, row{6, 10h},
                      row{7, 10h}}) {
    const action a = decide(status(500), r.attempt, default_schedule, 0);
    EXPECT_EQ(a.kind, action_kind::retry) << r.attempt;
    EXPECT_EQ(a.delay, r.delay) << r.attempt;
  }
}

TEST(retry_policy, gives_up_after_last_attempt) {
  EXPECT_EQ(decide(status(500), 8, default_schedule, 0).kind, action_kind::failed);
  EXPECT_EQ(decide(status(500), 9, default_schedule, 0).kind, action_kind::failed);
  EXPECT_EQ(decide({}, 8, default_schedule, 0).kind, action_kind::failed);
  // No schedule: one attempt only.
  EXPECT_EQ(decide(status(500), 1, {}, 0).kind, action_kind::failed);
}

TEST(retry_policy, no_response_is_retried) {
  const action a = decide({}, 1, default_schedule, 0);
  EXPECT_EQ(a.kind, action_kind::retry);
  EXPECT_EQ(a.delay, 5s);
}

TEST(retry_policy, every_other_status_is_a_retried_failure) {
  for (const int code : {0,   100, 199, 300, 301, 302, 304, 307, 308, 400, 401, 403,
                         404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 599, 999}) {
    const action a = decide(status(code), 2, default_schedule, 0);
    EXPECT_EQ(a.kind, action_kind::retry) << code;
    EXPECT_EQ(a.delay, 5min) << code;
  }
}

TEST(retry_policy, redirect_is_a_failure) {
  EXPECT_EQ(decide(status(301), 1, default_schedule, 0).kind, action_kind::retry);
  EXPECT_EQ(decide(status(302), 8, default_schedule, 0).kind, action_kind::failed);
}

TEST(retry_policy, jitter_scales_the_delay_by_at_most_twenty_percent) {
  struct row {
    double draw;
    milliseconds delay;
  };
  for (const row r : {row{-1, 4s}, row{1, 6s}, row{0.5, 5500ms}, row{-0.25, 4750ms}, row{-7, 4s},
                      row{7, 6s}, row{std::nan(""), 5s}}) {
    EXPECT_EQ(decide(status(500), 1, default_schedule, r.draw).delay, r.delay) << r.draw;
  }
}

TEST(retry_schedule, honours_retry_after_when_longer_on_429_and_503) {
  for (const int code : {429, 503}) {
    const action a = decide(status(code, 120s), 1, default_schedule, 0);
    EXPECT_EQ(a.kind, action_kind::retry);
    EXPECT_EQ(a.delay, 120s) << code;
  }
}

TEST(retry_schedule, ignores_retry_after_when_shorter) {
  EXPECT_EQ(decide(status(429, 1s), 2, default_schedule, 0).delay, 5min);
  EXPECT_EQ(decide(status(503, 0s), 1, default_schedule, 1).delay, 6s);
}

TEST(retry_schedule, ignores_retry_after_on_other_statuses) {
  for (const int code : {500, 502, 504, 404}) {
    EXPECT_EQ(decide(status(code, 3600s), 1, default_schedule, 0).delay, 5s) << code;
  }
}

TEST(retry_schedule, caps_retry_after_at_a_day) {
  EXPECT_EQ(
      decide(status(429, std::chrono::seconds(999'999'999'999)), 1, default_schedule, 0).delay,
      24h);
  EXPECT_EQ(decide(status(503, 48h), 1, default_schedule, 0).delay, 24h);
}

TEST(retry_schedule, retry_after_does_not_extend_the_number_of_attempts) {
  EXPECT_EQ(decide(status(429, 60s), 8, default_schedule, 0).kind, action_kind::failed);
}

TEST(retry_after, parses_delay_seconds) {
  EXPECT_EQ(parse_retry_after("120", 0), 120s);
  EXPECT_EQ(parse_retry_after("0", 0), 0s);
  EXPECT_EQ(parse_retry_after(" 30 ", 0), 30s);
}

TEST(retry_after, huge_delay_seconds_are_clamped_not_overflowed) {
  const auto parsed = parse_retry_after("99999999999999999999999999", 0);
  ASSERT_TRUE(parsed);
  EXPECT_GT(*parsed, 24h);
}

TEST(retry_after, parses_http_date_relative_to_now) {
  // date -u -d 'Wed, 21 Oct 2015 07:28:00 GMT' +%s = 1445412480
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 90), 90s);
  // date -u -d 'Sun, 29 Feb 2032 23:59:59 GMT' +%s = 1961711999
  EXPECT_EQ(parse_retry_after("Sun, 29 Feb 2032 23:59:59 GMT", 1961711999 - 3600), 3600s);
}

TEST(retry_after, past_http_date_means_now) {
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 500), 0s);
}

TEST(retry_after, rejects_anything_else) {
  for (const char* text : {"", "-5", "1.5", "soon", "120s", "Wed, 21 Oct 2015 07:28:00 UTC",
                           "Wednesday, 21-Oct-15 07:28:00 GMT", "Wed Oct 21 07:28:00 2015",
                           "Wed, 32 Oct 2015 07:28:00 GMT", "Wed, 21 Foo 2015 07:28:00 GMT",
                           "Wed, 21 Oct 2015 25:28:00 GMT", "Xyz, 21 Oct 2015 07:28:00 GMT",
                           "Wed, 29 Feb 2015 07:28:00 GMT", "Wed,  1 Oct 2015 07:28:00 GMT"}) {
    EXPECT_EQ(parse_retry_after(text, 0), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace dispatcher::retry
