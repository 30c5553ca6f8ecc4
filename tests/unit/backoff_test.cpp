// The one backoff the Redis retry loops share (retry/backoff.hpp).
#include "dispatcher/retry/backoff.hpp"

#include <gtest/gtest.h>

namespace dispatcher::retry {
namespace {

using namespace std::chrono_literals;

TEST(backoff, each_failure_doubles_the_wait_up_to_the_limit) {
  backoff b(100ms, 1s);
  EXPECT_EQ(b.next(), 100ms);
  EXPECT_EQ(b.next(), 200ms);
  EXPECT_EQ(b.next(), 400ms);
  EXPECT_EQ(b.next(), 800ms);
  EXPECT_EQ(b.next(), 1s);
  EXPECT_EQ(b.next(), 1s);
}

TEST(backoff, peek_shows_the_next_wait_without_taking_it) {
  backoff b(50ms, 2s);
  EXPECT_EQ(b.peek(), 50ms);
  EXPECT_EQ(b.peek(), 50ms);
  b.next();
  EXPECT_EQ(b.peek(), 100ms);
}

TEST(backoff, a_success_starts_over) {
  backoff b(100ms, 5s);
  b.next();
  b.next();
  b.reset();
  EXPECT_EQ(b.next(), 100ms);
}

TEST(backoff, a_first_wait_above_the_limit_is_kept_once) {
  // The trimmer: 1 s first, limited by an interval that may be shorter.
  backoff b(1000ms, 300ms);
  EXPECT_EQ(b.next(), 1000ms);
  EXPECT_EQ(b.next(), 300ms);
  EXPECT_EQ(b.next(), 300ms);
}

}  // namespace
}  // namespace dispatcher::retry
