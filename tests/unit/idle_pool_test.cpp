// The HTTP client's keep-alive bookkeeping (delivery/idle_pool.hpp), with numbers for
// connections and times passed in: reuse order, the per-origin bound, the idle timeout.
#include "dispatcher/delivery/idle_pool.hpp"

#include <gtest/gtest.h>

namespace dispatcher::delivery {
namespace {

using namespace std::chrono_literals;
using pool = idle_pool<int>;
const pool::clock::time_point pool_t0 = pool::clock::time_point{} + 1h;

int take(pool& p, const std::string& origin, pool::clock::time_point now) {
  auto conn = p.take(origin, now);
  return conn ? *conn : -1;
}

TEST(idle_pool, the_most_recently_used_connection_is_reused_first) {
  pool p(4, 30s);
  p.put("https://a:443", std::make_unique<int>(1), pool_t0);
  p.put("https://a:443", std::make_unique<int>(2), pool_t0 + 1s);
  EXPECT_EQ(take(p, "https://a:443", pool_t0 + 2s), 2);
  EXPECT_EQ(take(p, "https://a:443", pool_t0 + 2s), 1);
  EXPECT_EQ(take(p, "https://a:443", pool_t0 + 2s), -1);
  EXPECT_EQ(p.origins(), 0u);
}

TEST(idle_pool, an_origin_emptied_and_refilled_is_one_origin) {
  // Taking the last connection keeps the origin's place (no allocations to refill it), yet
  // it counts as an origin with idle connections only while it has one.
  pool p(4, 30s);
  p.put("o", std::make_unique<int>(1), pool_t0);
  EXPECT_EQ(take(p, "o", pool_t0), 1);
  EXPECT_EQ(p.origins(), 0u);
  EXPECT_EQ(p.size("o"), 0u);
  p.put("o", std::make_unique<int>(2), pool_t0 + 1s);
  EXPECT_EQ(p.origins(), 1u);
  EXPECT_EQ(take(p, "o", pool_t0 + 2s), 2);
  EXPECT_EQ(take(p, "o", pool_t0 + 2s), -1);
  p.sweep(pool_t0 + 20s);  // the emptied origin goes with the sweep
  EXPECT_EQ(p.origins(), 0u);
}

TEST(idle_pool, origins_do_not_share_connections) {
  pool p(4, 30s);
  p.put("https://a:443", std::make_unique<int>(1), pool_t0);
  EXPECT_EQ(take(p, "http://a:80", pool_t0), -1);
  EXPECT_EQ(take(p, "https://a:443", pool_t0), 1);
}

TEST(idle_pool, beyond_the_bound_the_oldest_connection_goes) {
  pool p(2, 30s);
  for (int i = 1; i <= 3; ++i) p.put("o", std::make_unique<int>(i), pool_t0 + i * 1s);
  EXPECT_EQ(p.size("o"), 2u);
  EXPECT_EQ(take(p, "o", pool_t0 + 4s), 3);
  EXPECT_EQ(take(p, "o", pool_t0 + 4s), 2);
}

TEST(idle_pool, a_burst_as_large_as_the_in_flight_bound_is_kept_whole) {
  // 10 endpoints x 16 slots on one receiver: every connection of the burst is reused.
  constexpr std::size_t in_flight = 160;
  pool p(idle_per_origin(in_flight), 30s);
  for (std::size_t i = 0; i < in_flight; ++i) {
    p.put("http://a:80", std::make_unique<int>(static_cast<int>(i)), pool_t0);
  }
  EXPECT_EQ(p.size("http://a:80"), in_flight);
  EXPECT_EQ(idle_per_origin(1), 32u);  // a small bound still keeps a few per origin
}

TEST(idle_pool, a_bound_of_zero_keeps_nothing) {
  pool p(0, 30s);
  p.put("o", std::make_unique<int>(1), pool_t0);
  EXPECT_EQ(p.size("o"), 0u);
  EXPECT_EQ(take(p, "o", pool_t0), -1);
}

TEST(idle_pool, a_stale_newest_connection_empties_the_origin) {
  pool p(4, 30s);
  p.put("o", std::make_unique<int>(1), pool_t0);
  p.put("o", std::make_unique<int>(2), pool_t0 + 5s);
  EXPECT_EQ(take(p, "o", pool_t0 + 35s), -1);  // 30 s idle: no longer trusted
  EXPECT_EQ(p.size("o"), 0u);
  EXPECT_EQ(p.origins(), 0u);
}

TEST(idle_pool, a_connection_just_under_the_timeout_is_reused) {
  pool p(4, 30s);
  p.put("o", std::make_unique<int>(1), pool_t0);
  EXPECT_EQ(take(p, "o", pool_t0 + 30s - 1ms), 1);
}

TEST(idle_pool, sweep_drops_only_stale_connections_at_most_twice_per_timeout) {
  pool p(4, 30s);
  p.put("a", std::make_unique<int>(1), pool_t0);
  p.put("a", std::make_unique<int>(2), pool_t0 + 10s);
  p.put("b", std::make_unique<int>(3), pool_t0);
  p.sweep(pool_t0 + 35s);  // runs: 1 and 3 are stale, 2 has been idle 25 s
  EXPECT_EQ(p.size("a"), 1u);
  EXPECT_EQ(p.size("b"), 0u);
  EXPECT_EQ(p.origins(), 1u);
  p.sweep(pool_t0 + 45s);  // 10 s after the last sweep: skipped, though 2 is stale by now
  EXPECT_EQ(p.size("a"), 1u);
  p.sweep(pool_t0 + 50s);  // half the timeout after the last sweep: runs
  EXPECT_EQ(p.origins(), 0u);
}

}  // namespace
}  // namespace dispatcher::delivery
