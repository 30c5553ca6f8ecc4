// The reader's pacing per endpoint, step by step with no sockets and no clocks: one full
// endpoint stops the reader only when it is the only one the events go to; a slot counts
// until its record is written; endpoints the ingest script queued for count as full for a
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

TEST(ReadPace, nothing_matched_yet_reads_whole_batches) {
  read_pace p(16, 100);
  EXPECT_EQ(p.readable(t0), 100u);
  EXPECT_FALSE(p.must_wait(t0));
}

TEST(ReadPace, one_endpoint_reads_only_what_its_free_slots_take) {
  read_pace p(16, 100);
  p.observe(10, {{"a", 10}}, {}, t0);
  p.observe(10, {{"a", 10}}, {}, t0);
  p.observe(10, {{"a", 10}}, {}, t0);  // every event goes to a: share near 1
  EXPECT_EQ(p.readable(t0), 18u) << "at a share of 7/8, 16 free slots take 18 events";
  start_n(p, "a", 16);
  EXPECT_EQ(p.readable(t0), 0u);
  EXPECT_TRUE(p.must_wait(t0));
  // A slot frees only when its record is written; the wait ends once a quarter is free.
  EXPECT_FALSE(p.released("a", t0));
  EXPECT_FALSE(p.released("a", t0));
  EXPECT_FALSE(p.released("a", t0));
  EXPECT_TRUE(p.released("a", t0));
  EXPECT_EQ(p.in_flight("a"), 12u);
  EXPECT_FALSE(p.must_wait(t0));
  EXPECT_EQ(p.readable(t0), 4u);
}

TEST(ReadPace, a_full_endpoint_does_not_stop_reading_for_one_with_room) {
  read_pace p(16, 100);
  p.observe(10, {{"slow", 10}, {"fast", 10}}, {}, t0);  // both take every event
  start_n(p, "slow", 16);
  EXPECT_GT(p.readable(t0), 0u);
  EXPECT_FALSE(p.must_wait(t0));
  start_n(p, "fast", 16);
  EXPECT_EQ(p.readable(t0), 0u);
  EXPECT_TRUE(p.must_wait(t0));
  // The slow one's records are not what the reader waits for once the fast one frees.
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(p.released("fast", t0));
  EXPECT_TRUE(p.released("fast", t0));
}

TEST(ReadPace, an_endpoint_the_script_queued_for_counts_as_full_until_the_time_given) {
  read_pace p(16, 100);
  p.observe(10, {{"a", 10}}, {"a"}, t0 + 100ms);  // rate-limited, circuit open, ...
  EXPECT_EQ(p.readable(t0), 0u);
  EXPECT_TRUE(p.must_wait(t0 + 99ms));
  EXPECT_FALSE(p.must_wait(t0 + 100ms));
  EXPECT_GT(p.readable(t0 + 100ms), 0u);
}

TEST(ReadPace, an_endpoint_no_longer_matched_is_forgotten) {
  read_pace p(16, 100);
  p.observe(10, {{"gone", 10}}, {}, t0);
  start_n(p, "gone", 16);
  EXPECT_TRUE(p.must_wait(t0));
  for (int i = 0; i < 8; ++i) p.observe(10, {}, {}, t0);  // nothing matches it any more
  EXPECT_EQ(p.readable(t0), 100u);
  EXPECT_FALSE(p.must_wait(t0));
}

TEST(ReadPace, fan_out_divides_the_room_by_the_share) {
  read_pace p(16, 100);
  for (int i = 0; i < 8; ++i) p.observe(10, {{"a", 5}, {"b", 5}}, {}, t0);  // half each
  EXPECT_EQ(p.readable(t0), 32u) << "16 free slots take 32 events at a share of one half";
  start_n(p, "a", 16);
  start_n(p, "b", 8);
  EXPECT_EQ(p.readable(t0), 16u);
}

}  // namespace
}  // namespace dispatcher::delivery
