// The scheduler's accounting, without I/O: which in-flight slots are taken (attempts
// running, grants held by the ingest path), how many deliveries a claim may ask for,
// when the claim loop, a room waiter or the record writer must be woken, and which
// attempt records go in the next write. The scheduler (scheduler.cpp) owns the timers and
// the Redis calls and does what these classes answer; keeping the decisions here lets
// unit tests walk every rule step by step with no sockets, no clocks and no sleeps, the
// way Boost.Redis tests its connection logic (run_fsm).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dispatcher/common/take_front.hpp"

namespace dispatcher::delivery {

/// Waits the scheduler must end after an event. A wait that is not waiting when told to
/// end is not harmed: each flag only ends a wait whose reason has gone.
struct wakeups {
  bool claim_loop = false;   // end the claim loop's poll or backoff wait
  bool room_waiter = false;  // end async_wait_for_room's wait
};

/// What the end of a claim pass asks of the scheduler.
struct claim_end {
  /// How many of the claimed deliveries to start; the rest go back to the queue at once
  /// (the stream reader took their slots while the claim script ran).
  std::size_t keep = 0;
  bool claim_again = false;  // there may be more due now: claim again at once
  wakeups wake;              // slots the claim held and did not fill came back
};

/// In-flight slots of one process: at most `bound` attempts running, granted to the
/// ingest path or held by a claim in flight, so a backlog waits in Redis, not in memory.
class slots {
 public:
  /// Who holds a running delivery's lease: handed back under it at shutdown.
  struct lease {
    std::string token, endpoint_id;
  };

  explicit slots(std::size_t bound) : bound_(bound) {}

  /// Slots neither running, granted nor held by a claim.
  std::size_t room() const noexcept;
  std::size_t in_flight() const noexcept { return running_.size(); }
  std::size_t reserved() const noexcept { return reserved_; }
  /// Slots the claim in flight still holds.
  std::size_t claim_hold() const noexcept { return claim_hold_; }
  bool stopping() const noexcept { return stopping_; }
  const std::unordered_map<std::string, lease>& running() const noexcept { return running_; }

  /// New work may be due now (deliveries were queued): the claim loop claims without
  /// waiting for the poll interval.
  wakeups wake();

  /// Sets aside up to `wanted` free slots for deliveries the ingest script leases
  /// directly. Nullopt once stopping: no grant at all, not even an empty one. The reader
  /// comes first: what the free room lacks is taken from a claim in flight, whose
  /// deliveries beyond what it still holds then go back (claimed()). Holding the claim's
  /// room against the reader instead sent every event read during a claim to the due
  /// queue and its endpoint to wait a poll interval: p99 went from 2 to 190 ms.
  std::optional<std::size_t> reserve(std::size_t wanted);
  /// An attempt started, under the lease `held`, from a claim or a grant.
  void start(std::string delivery_id, lease held);
  /// Closes a grant of `granted` slots once the `leased` deliveries leased under it were
  /// start()ed: its unused slots become free again.
  wakeups adopt(std::size_t granted, std::size_t leased);
  /// An attempt ended: its slot is free.
  wakeups finish(const std::string& delivery_id);
  /// The same, and the attempt's lease is moved into `held` (left as it was when the
  /// delivery was not running): its record names the lease it ran under.
  wakeups finish(const std::string& delivery_id, lease& held);

  /// A claim pass begins: how many deliveries to ask for, at most `cap`, held until it
  /// ends. Zero: no room (the loop then waits for a slot to free: finish() wakes it), or
  /// stopping.
  std::size_t begin_claim(std::size_t cap);
  /// The claim asked for by begin_claim() returned `got` deliveries: how many of them to
  /// start() (the first `keep`; the rest go back to the queue), and what next.
  claim_end claimed(std::size_t got);
  /// The claim failed (Redis refused it, or the process stops): its hold is free.
  wakeups claim_failed();
  /// Whether the claim loop waits for the poll interval before its next pass: not when it
  /// was woken since the last end_pass().
  bool poll_wait() const noexcept { return !woken_; }
  /// The pass's wait is over: wake-ups from now on are for the next pass.
  void end_pass() noexcept { woken_ = false; }

  /// Whether the stream reader must (still) wait for `wanted` free slots (clamped to
  /// 1..bound); while it does, finish() tells when to end its wait.
  bool wait_for_room(std::size_t wanted);
  /// The reader's wait is over; returns the free room.
  std::size_t end_room_wait() noexcept;

  /// Shutdown: no more claims or grants; every wait ends.
  wakeups stop();

 private:
  /// The reader waits for room and now has it.
  bool room_waiter_served() const noexcept;

  std::size_t bound_;
  std::unordered_map<std::string, lease> running_;  // by delivery id
  std::size_t reserved_ = 0;     // slots granted to the ingest path, not yet adopted
  std::size_t room_wanted_ = 0;  // what wait_for_room waits for; 0: nobody waits
  std::size_t claim_room_ = 0;   // the room when the current claim was sized
  std::size_t claim_want_ = 0;   // what the current claim asked for
  std::size_t claim_hold_ = 0;   // what of it the reader has not taken since
  bool woken_ = false;
  bool room_limited_ = false;  // the last claim was cut short by this process's bound
  bool stopping_ = false;
};

/// Attempt records waiting to be written, one write in flight at a time (the record loop
/// in scheduler.cpp says why). A template so that the accounting needs no Redis type.
template <class Record>
class record_outbox {
 public:
  /// Queues a record; true when the writer must be woken (no write is in flight, so it
  /// may be waiting for records).
  bool push(Record r) {
    waiting_.push_back(std::move(r));
    return !writing_;
  }
  bool empty() const noexcept { return waiting_.empty(); }
  std::size_t size() const noexcept { return waiting_.size(); }

  /// The next write: the oldest records, at most `max` of them, in the order they came.
  /// The write is in flight until written().
  std::vector<Record> take(std::size_t max) {
    writing_ = true;
    return take_front(waiting_, max);
  }
  void written() noexcept { writing_ = false; }

  /// No more records will come once the waiting ones are written: the writer ends.
  void close() noexcept { closed_ = true; }
  bool closed() const noexcept { return closed_; }
  /// The writer's loop is over: closed and nothing waits.
  bool finished() const noexcept { return closed_ && waiting_.empty(); }
  /// Every record queued so far is written (or given up on): a drain may end.
  bool settled() const noexcept { return waiting_.empty() && !writing_; }

 private:
  std::vector<Record> waiting_;
  bool writing_ = false;  // a write is in flight
  bool closed_ = false;
};

}  // namespace dispatcher::delivery
