// The reader's pacing per endpoint, step by step with no sockets and no clocks: one full
// endpoint stops the reader only when it is the only one the events go to; a slot counts
// until its record is sent; endpoints the ingest script queued for count as full for a
// while; reads stay batches.
#include "dispatcher/delivery/read_pace.hpp"

#include <gtest/gtest.h>

namespace dispatcher::delivery {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

const clock::time_point t0{};

void start_n(read_pace& p, const std::string& endpoint, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) p.started(endpoint);
}

TEST(read_pace, nothing_matched_yet_reads_whole_batches) {
  read_pace p(16, 100, 100ms);
  EXPECT_EQ(p.readable(t0), 100u);
  EXPECT_FALSE(p.must_wait(t0));
}

TEST(read_pace, one_endpoint_reads_only_what_its_free_slots_take) {
  read_pace p(16, 100, 100ms);
  p.observe(10, {{"a", 10}}, {}, t0, 1);  // every event goes to a
  EXPECT_EQ(p.readable(t0), 16u);
  start_n(p, "a", 16);
  EXPECT_EQ(p.readable(t0), 0u);
  EXPECT_TRUE(p.must_wait(t0));
  // A slot frees only when its record is sent; the wait ends once half are free.
  for (int i = 0; i < 7; ++i) EXPECT_FALSE(p.released("a", t0));
  EXPECT_TRUE(p.released("a", t0));
  EXPECT_EQ(p.in_flight("a"), 8u);
  EXPECT_FALSE(p.must_wait(t0));
  EXPECT_EQ(p.readable(t0), 8u);
}

// The reader reads ahead while every slot is busy: as many events as the endpoint with the
// most room would take were all its slots free, so what it holds starts in one cycle.
TEST(read_pace, what_may_be_read_ahead_fills_the_roomiest_endpoints_slots_once) {
  read_pace p(16, 100, 100ms);
  EXPECT_EQ(p.readable_when_idle(), 100u) << "nothing matched yet: a whole batch";
  p.observe(10, {{"a", 10}, {"b", 5}}, {}, t0, 2);  // a takes every event, b one in two
  start_n(p, "a", 16);
  start_n(p, "b", 16);
  EXPECT_EQ(p.readable(t0), 0u);
  EXPECT_EQ(p.readable_when_idle(), 32u) << "b's 16 slots at one event in two";
  read_pace small(4, 10, 100ms);
  small.observe(10, {{"b", 1}}, {}, t0, 1);  // one event in ten
  EXPECT_EQ(small.readable_when_idle(), 10u) << "at most a batch";
}

TEST(read_pace, a_full_endpoint_does_not_stop_reading_for_one_with_room) {
  read_pace p(16, 100, 100ms);
  p.observe(10, {{"slow", 10}, {"fast", 10}}, {}, t0, 2);  // both take every event
  start_n(p, "slow", 16);
  EXPECT_GT(p.readable(t0), 0u);
  EXPECT_FALSE(p.must_wait(t0));
  start_n(p, "fast", 16);
  EXPECT_EQ(p.readable(t0), 0u);
  EXPECT_TRUE(p.must_wait(t0));
  // The slow one's records are not what the reader waits for once the fast one frees.
  for (int i = 0; i < 7; ++i) EXPECT_FALSE(p.released("fast", t0));
  EXPECT_TRUE(p.released("fast", t0));
}

TEST(read_pace, an_endpoint_the_script_queued_for_counts_as_full_until_the_time_given) {
  read_pace p(16, 100, 100ms);
  p.observe(10, {{"a", 10}}, {"a"}, t0 + 100ms, 1);  // rate-limited, circuit open, ...
  EXPECT_EQ(p.readable(t0), 0u);
  EXPECT_TRUE(p.must_wait(t0 + 99ms));
  EXPECT_FALSE(p.must_wait(t0 + 100ms));
  EXPECT_GT(p.readable(t0 + 100ms), 0u);
}

TEST(read_pace, an_endpoint_no_longer_matched_is_forgotten) {
  read_pace p(16, 100, 100ms);
  p.observe(10, {{"gone", 10}}, {}, t0, 1);
  start_n(p, "gone", 16);
  EXPECT_TRUE(p.must_wait(t0));
  for (int i = 0; i < 8; ++i) p.observe(10, {}, {}, t0, 1);  // nothing matches it any more
  EXPECT_EQ(p.readable(t0), 100u);
  EXPECT_FALSE(p.must_wait(t0));
}

TEST(read_pace, a_new_endpoint_starts_at_its_share_and_then_follows_the_batches) {
  read_pace p(16, 100, 100ms);
  p.observe(10, {{"a", 5}}, {}, t0, 1);
  EXPECT_EQ(p.readable(t0), 32u) << "half the events: 16 free slots take 32";
  p.observe(10, {{"a", 10}}, {}, t0, 1);
  EXPECT_EQ(p.readable(t0), 21u) << "share 3/4 after a batch where every event went to a";
}

TEST(read_pace, other_endpoints_get_one_whole_batch_read_per_interval_past_a_full_one) {
  read_pace p(16, 100, 100ms);
  p.observe(10, {{"full", 10}}, {}, t0, 2);  // "other" exists; these events all went to full
  start_n(p, "full", 16);
  EXPECT_FALSE(p.must_wait(t0)) << "a probe: events for the other may follow";
  EXPECT_EQ(p.readable(t0), 100u);
  p.observe(100, {{"full", 100}}, {"full"}, t0 + 100ms, 2);
  EXPECT_EQ(p.readable(t0 + 1ms), 0u);
  EXPECT_TRUE(p.must_wait(t0 + 99ms)) << "one probe per interval";
  EXPECT_FALSE(p.must_wait(t0 + 100ms));
  // With no other endpoint there is nothing to probe for.
  read_pace only(16, 100, 100ms);
  only.observe(10, {{"full", 10}}, {}, t0, 1);
  start_n(only, "full", 16);
  EXPECT_TRUE(only.must_wait(t0 + 1h));
}

TEST(read_pace, fan_out_divides_the_room_by_the_share) {
  read_pace p(16, 100, 100ms);
  for (int i = 0; i < 8; ++i) p.observe(10, {{"a", 5}, {"b", 5}}, {}, t0, 2);  // half each
  EXPECT_EQ(p.readable(t0), 32u) << "16 free slots take 32 events at a share of one half";
  start_n(p, "a", 16);
  start_n(p, "b", 8);
  EXPECT_EQ(p.readable(t0), 16u);
}

}  // namespace
}  // namespace dispatcher::delivery
