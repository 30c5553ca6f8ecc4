// The scheduler's accounting, step by step with no sockets and no sleeps: the in-flight
// bound across grants, claims and finished attempts; which event wakes the claim loop, the
// stream reader's room wait and the record writer; what a drain stops; how attempt
// records are batched.
#include "dispatcher/delivery/slots.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <random>

namespace dispatcher::delivery {
namespace {

constexpr std::size_t unlimited = 1000;  // a claim cap above every bound used here

void start_n(slots& s, std::size_t n, const std::string& prefix) {
  for (std::size_t i = 0; i < n; ++i) s.start(prefix + std::to_string(i), {"tok", "ep"});
}

TEST(slots, a_finished_attempt_hands_its_lease_to_its_record) {
  // The record names the lease the attempt ran under, taken from the slot it frees: the
  // attempt carries no copy of the token or the endpoint.
  slots s(4);
  s.start("dlv_1", {"instance:7", "ep_1"});
  slots::lease held;
  s.finish("dlv_1", held);
  EXPECT_EQ(held.token, "instance:7");
  EXPECT_EQ(held.endpoint_id, "ep_1");
  EXPECT_EQ(s.in_flight(), 0u);
  // Not running (finished twice): nothing to hand over, and the slot count stays right.
  slots::lease none{"kept", "kept"};
  s.finish("dlv_1", none);
  EXPECT_EQ(none.token, "kept");
  EXPECT_EQ(s.room(), 4u);
}

TEST(slots, room_counts_running_attempts_and_grants) {
  slots s(10);
  EXPECT_EQ(s.room(), 10u);
  EXPECT_EQ(s.reserve(3), 3u);
  start_n(s, 2, "c");
  EXPECT_EQ(s.room(), 5u);
  EXPECT_EQ(s.in_flight(), 2u);
  EXPECT_EQ(s.reserved(), 3u);
  // A grant and a claim are both sized from what is left.
  EXPECT_EQ(s.reserve(100), 5u);
  EXPECT_EQ(s.begin_claim(unlimited), 0u);
  EXPECT_EQ(s.reserve(1), 0u);
}

TEST(slots, the_in_flight_bound_holds_across_any_sequence_of_grants_claims_and_finishes) {
  constexpr std::size_t bound = 16;
  slots s(bound);
  std::mt19937 random(7);  // fixed: the same walk every run
  auto pick = [&](std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(0, hi)(random);
  };
  std::vector<std::size_t> grants;  // open grants, by size
  std::vector<std::string> running;
  std::size_t next_id = 0;
  std::optional<std::size_t> claim;  // a claim in flight, by what it asked for
  auto start = [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      running.push_back("d" + std::to_string(next_id++));
      s.start(running.back(), {"tok", "ep"});
    }
  };
  for (int step = 0; step < 5000; ++step) {
    // Grants and finishes happen while a claim script runs, as on the event loop.
    switch (pick(3)) {
      case 0:
        grants.push_back(*s.reserve(pick(bound + 4)));
        break;
      case 1:
        if (!grants.empty()) {
          const std::size_t granted = grants.back();
          grants.pop_back();
          const std::size_t leased = pick(granted);  // the ingest script leases at most that
          start(leased);
          s.adopt(granted, leased);
        }
        break;
      case 2:
        if (!claim) {
          claim = s.begin_claim(1 + pick(bound));
        } else if (pick(4) == 0) {
          s.claim_failed();
          claim.reset();
        } else {
          const std::size_t got = pick(*claim);  // the claim script returns at most that
          const auto end = s.claimed(got);
          ASSERT_LE(end.keep, got);
          start(end.keep);  // the rest go back to the queue
          claim.reset();
        }
        break;
      default:
        if (!running.empty()) {
          const std::size_t i = pick(running.size() - 1);
          s.finish(running[i]);
          running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
        }
    }
    std::size_t open = 0;
    for (const auto g : grants) open += g;
    ASSERT_LE(s.in_flight() + s.reserved() + s.claim_hold(), bound) << "step " << step;
    ASSERT_LE(s.claim_hold(), claim.value_or(0)) << "step " << step;
    ASSERT_EQ(s.reserved(), open) << "step " << step;
    ASSERT_EQ(s.in_flight(), running.size()) << "step " << step;
    ASSERT_EQ(s.room(), bound - s.in_flight() - s.reserved() - s.claim_hold()) << "step " << step;
  }
}

TEST(slots, the_reader_takes_room_from_a_claim_in_flight_which_then_keeps_only_the_rest) {
  slots s(10);
  ASSERT_EQ(s.begin_claim(unlimited), 10u);
  EXPECT_EQ(s.claim_hold(), 10u);
  // The reader reads while the claim script runs: it is not kept waiting for the claim.
  EXPECT_EQ(s.reserve(4), 4u);
  EXPECT_EQ(s.claim_hold(), 6u);
  EXPECT_EQ(s.room(), 0u);
  // The claim found 8 due: 6 fit, 2 go back to the queue, and the loop waits for a slot.
  const auto end = s.claimed(8);
  EXPECT_EQ(end.keep, 6u);
  EXPECT_FALSE(end.claim_again);
  start_n(s, 6, "c");
  EXPECT_EQ(s.in_flight() + s.reserved(), 10u);
  EXPECT_TRUE(s.finish("c0").claim_loop);
}

TEST(slots, a_claim_keeps_what_finished_attempts_freed_while_it_ran) {
  slots s(4);
  start_n(s, 2, "a");
  ASSERT_EQ(s.begin_claim(unlimited), 2u);
  ASSERT_EQ(s.reserve(2), 2u);  // the whole hold
  s.finish("a0");
  s.finish("a1");
  EXPECT_EQ(s.claimed(2).keep, 2u);
}

TEST(slots, a_claim_that_ends_frees_what_it_held_and_wakes_a_reader_waiting_for_it) {
  slots s(4);
  ASSERT_EQ(s.begin_claim(unlimited), 4u);
  ASSERT_TRUE(s.wait_for_room(2));
  EXPECT_TRUE(s.claim_failed().room_waiter);
  EXPECT_EQ(s.room(), 4u);

  ASSERT_EQ(s.begin_claim(unlimited), 4u);
  ASSERT_TRUE(s.wait_for_room(2));
  const auto end = s.claimed(1);
  EXPECT_EQ(end.keep, 1u);
  EXPECT_TRUE(end.wake.room_waiter);  // three slots came back
  start_n(s, 1, "c");
  EXPECT_EQ(s.end_room_wait(), 3u);
}

TEST(slots, unused_reserved_slots_return_on_adopt) {
  slots s(8);
  ASSERT_EQ(s.reserve(8), 8u);
  EXPECT_EQ(s.room(), 0u);
  start_n(s, 3, "i");
  s.adopt(8, 3);
  EXPECT_EQ(s.reserved(), 0u);
  EXPECT_EQ(s.in_flight(), 3u);
  EXPECT_EQ(s.room(), 5u);
  EXPECT_EQ(s.begin_claim(unlimited), 5u);
}

TEST(slots, a_claim_cut_short_by_the_bound_wakes_the_loop_when_a_slot_frees) {
  slots s(4);
  ASSERT_EQ(s.begin_claim(unlimited), 4u);
  EXPECT_TRUE(s.claimed(4).claim_again);  // all it asked for: more may be due, claim again
  start_n(s, 4, "c");
  EXPECT_EQ(s.begin_claim(unlimited), 0u);
  EXPECT_TRUE(s.poll_wait());  // nothing to claim with: sleep...
  const auto w = s.finish("c0");
  EXPECT_TRUE(w.claim_loop);  // ...until a slot frees
  EXPECT_FALSE(s.poll_wait());
  s.end_pass();
  EXPECT_EQ(s.begin_claim(unlimited), 1u);
}

TEST(slots, a_claim_that_took_the_whole_room_counts_as_cut_short) {
  slots s(4);
  ASSERT_EQ(s.begin_claim(unlimited), 4u);
  ASSERT_TRUE(s.claimed(4).claim_again);
  start_n(s, 4, "c");
  EXPECT_TRUE(s.finish("c1").claim_loop);
}

TEST(slots, a_claim_short_of_due_work_or_capped_below_the_room_is_not_woken_by_finishes) {
  slots s(8);
  ASSERT_EQ(s.begin_claim(unlimited), 8u);
  EXPECT_FALSE(s.claimed(2).claim_again);  // nothing more due: wait for the poll or for queued work
  start_n(s, 2, "a");
  EXPECT_FALSE(s.finish("a0").claim_loop);
  EXPECT_TRUE(s.poll_wait());

  ASSERT_EQ(s.begin_claim(3), 3u);        // the cap, not the bound, cut this claim
  EXPECT_TRUE(s.claimed(3).claim_again);  // claim again at once...
  start_n(s, 3, "b");
  EXPECT_FALSE(s.finish("b0").claim_loop);  // ...so no wake is needed for a slot
}

TEST(slots, a_claim_pass_with_room_forgets_that_the_last_one_was_cut_short) {
  slots s(4);
  ASSERT_EQ(s.begin_claim(unlimited), 4u);
  ASSERT_TRUE(s.claimed(4).claim_again);
  start_n(s, 4, "c");
  ASSERT_TRUE(s.finish("c0").claim_loop);
  s.end_pass();
  ASSERT_EQ(s.begin_claim(unlimited), 1u);
  // That claim failed: the loop backs off, a slot is no reason to wake it.
  s.claim_failed();
  EXPECT_FALSE(s.finish("c1").claim_loop);
}

TEST(slots, an_unused_grant_wakes_a_loop_waiting_for_room) {
  slots s(4);
  ASSERT_EQ(s.reserve(2), 2u);
  ASSERT_EQ(s.begin_claim(unlimited), 2u);
  ASSERT_TRUE(s.claimed(2).claim_again);
  start_n(s, 2, "c");
  start_n(s, 1, "i");
  EXPECT_TRUE(s.adopt(2, 1).claim_loop);  // one slot of the grant went unused
  EXPECT_FALSE(s.poll_wait());
}

TEST(slots, a_fully_used_grant_or_a_loop_not_short_of_room_is_not_woken_by_adopt) {
  slots s(4);
  ASSERT_EQ(s.reserve(2), 2u);
  ASSERT_EQ(s.begin_claim(unlimited), 2u);
  ASSERT_TRUE(s.claimed(2).claim_again);
  start_n(s, 2, "c");
  start_n(s, 2, "i");
  EXPECT_FALSE(s.adopt(2, 2).claim_loop);  // no slot came back

  slots idle(4);
  ASSERT_EQ(idle.reserve(2), 2u);
  ASSERT_EQ(idle.begin_claim(unlimited), 2u);
  ASSERT_FALSE(idle.claimed(0).claim_again);
  EXPECT_FALSE(idle.adopt(2, 0).claim_loop);
  EXPECT_TRUE(idle.poll_wait());
}

TEST(slots, a_room_waiter_is_released_exactly_when_enough_room_is_free) {
  slots s(4);
  start_n(s, 4, "r");
  ASSERT_TRUE(s.wait_for_room(2));
  EXPECT_FALSE(s.finish("r0").room_waiter);  // one free, two wanted
  EXPECT_TRUE(s.finish("r1").room_waiter);
  EXPECT_FALSE(s.wait_for_room(2));
  EXPECT_EQ(s.end_room_wait(), 2u);
  EXPECT_FALSE(s.finish("r2").room_waiter);  // nobody waits any more
}

TEST(slots, a_room_waiter_counts_grants_as_taken) {
  slots s(4);
  start_n(s, 2, "r");
  ASSERT_EQ(s.reserve(2), 2u);
  ASSERT_TRUE(s.wait_for_room(2));  // two not running, but granted
  EXPECT_FALSE(s.finish("r0").room_waiter);
  EXPECT_TRUE(s.finish("r1").room_waiter);
}

TEST(slots, a_room_wait_asks_for_at_least_one_slot_and_at_most_the_bound) {
  slots s(4);
  start_n(s, 4, "r");
  ASSERT_TRUE(s.wait_for_room(0));  // zero would never wait; one slot is the least
  EXPECT_TRUE(s.finish("r0").room_waiter);
  EXPECT_EQ(s.end_room_wait(), 1u);

  start_n(s, 1, "x");
  ASSERT_TRUE(s.wait_for_room(100));  // more than the bound would wait for ever
  EXPECT_FALSE(s.finish("r1").room_waiter);
  EXPECT_FALSE(s.finish("r2").room_waiter);
  EXPECT_FALSE(s.finish("r3").room_waiter);
  EXPECT_TRUE(s.finish("x0").room_waiter);
  EXPECT_EQ(s.end_room_wait(), 4u);
}

TEST(slots, draining_stops_new_claims_and_reserves_and_ends_every_wait) {
  slots s(4);
  start_n(s, 4, "r");
  ASSERT_TRUE(s.wait_for_room(2));
  const auto w = s.stop();
  EXPECT_TRUE(w.claim_loop);
  EXPECT_TRUE(w.room_waiter);
  EXPECT_TRUE(s.stopping());
  EXPECT_FALSE(s.wait_for_room(2));  // the reader stops waiting without room
  EXPECT_FALSE(s.poll_wait());       // the claim loop does not sleep again
  s.finish("r0");
  s.finish("r1");
  EXPECT_EQ(s.reserve(2), std::nullopt);  // no grant, not even an empty one
  EXPECT_EQ(s.begin_claim(unlimited), 0u);
  EXPECT_EQ(s.in_flight(), 2u);  // attempts already running go on
}

TEST(slots, a_wake_before_the_poll_wait_is_not_lost) {
  slots s(4);
  EXPECT_TRUE(s.poll_wait());
  EXPECT_TRUE(s.wake().claim_loop);
  EXPECT_FALSE(s.poll_wait());  // queued work while claiming: claim again without sleeping
  s.end_pass();
  EXPECT_TRUE(s.poll_wait());  // once
}

TEST(slots, running_leases_are_kept_for_handing_back_and_forgotten_when_finished) {
  slots s(4);
  s.start("d1", {"inst:1", "ep_a"});
  s.start("d2", {"inst:2", "ep_b"});
  ASSERT_EQ(s.running().size(), 2u);
  EXPECT_EQ(s.running().at("d1").token, "inst:1");
  EXPECT_EQ(s.running().at("d2").endpoint_id, "ep_b");
  s.finish("d1");
  EXPECT_EQ(s.running().count("d1"), 0u);
  EXPECT_EQ(s.in_flight(), 1u);
}

TEST(record_outbox, batches_cap_at_the_batch_size_and_keep_order) {
  record_outbox<int> out;
  for (int i = 1; i <= 7; ++i) out.push(i);
  EXPECT_EQ(out.take(3), (std::vector<int>{1, 2, 3}));
  out.written();
  out.push(8);
  EXPECT_EQ(out.take(3), (std::vector<int>{4, 5, 6}));
  out.written();
  EXPECT_EQ(out.take(3), (std::vector<int>{7, 8}));
  out.written();
  EXPECT_TRUE(out.empty());
}

TEST(record_outbox, a_record_wakes_the_writer_only_when_no_write_is_in_flight) {
  record_outbox<int> out;
  EXPECT_TRUE(out.push(1));  // the writer may be waiting for records
  (void)out.take(10);
  EXPECT_FALSE(out.push(2));  // it picks this one up after the write
  EXPECT_FALSE(out.push(3));
  out.written();
  EXPECT_TRUE(out.push(4));
}

TEST(record_outbox, the_writer_ends_only_once_closed_and_empty) {
  record_outbox<int> out;
  EXPECT_FALSE(out.finished());  // empty but open: the writer waits for records
  out.push(1);
  EXPECT_FALSE(out.finished());
  out.close();
  EXPECT_FALSE(out.finished());  // closed, but a record waits
  EXPECT_EQ(out.take(10), std::vector<int>{1});
  EXPECT_TRUE(out.finished());
}

TEST(record_outbox, a_drain_waits_for_the_write_in_flight) {
  record_outbox<int> out;
  EXPECT_TRUE(out.settled());
  out.push(1);
  EXPECT_FALSE(out.settled());  // waiting
  (void)out.take(10);
  EXPECT_FALSE(out.settled());  // written but not yet acknowledged by Redis
  out.written();
  EXPECT_TRUE(out.settled());
}

}  // namespace
}  // namespace dispatcher::delivery
