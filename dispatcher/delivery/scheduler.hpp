// Runs due deliveries: claims them from Redis under a lease (claim_due), makes one signed
// attempt each, and records the attempt with the delivery's next state in one atomic step
// (complete_attempts, batched). In-flight attempts are bounded per process here and per endpoint in
// the claim script, so a slow endpoint's backlog waits in Redis, not in memory. A lease
// that outlives its owner (a crash) expires and the delivery becomes due again. The slot
// accounting and the wake-up decisions are in slots.hpp; this file carries them out.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dispatcher/config/settings.hpp"
#include "dispatcher/delivery/http_client.hpp"
#include "dispatcher/delivery/read_pace.hpp"
#include "dispatcher/delivery/slots.hpp"
#include "dispatcher/redis/connection.hpp"
#include "dispatcher/redis/keys.hpp"
#include "dispatcher/redis/script_io.hpp"
#include "dispatcher/routing/endpoint_store.hpp"

namespace dispatcher::delivery {

using claimed_delivery = redis::leased_delivery;

/// Slots of this process's in-flight bound set aside for deliveries the ingest script
/// leases directly, under `token`.
struct lease_grant {
  std::size_t slots = 0;
  std::string token;
};

class scheduler {
 public:
  scheduler(boost::asio::any_io_executor executor, redis::connection& conn, http_client& client,
            routing::registry& endpoints, routing::endpoint_store& store,
            const config::settings& settings, std::string instance_id);

  /// Claims and runs deliveries until async_drain().
  boost::asio::awaitable<void> async_run();

  /// New work may be due now (deliveries were queued): claim without waiting for the poll
  /// interval.
  void wake();

  /// Sets aside up to `wanted` in-flight slots for deliveries leased at ingest; every
  /// grant must be handed back through adopt(), with whatever was leased under it.
  lease_grant reserve(std::size_t wanted);
  /// Starts attempts for deliveries leased under `grant` and frees its unused slots.
  void adopt(std::vector<claimed_delivery> items, const lease_grant& grant);

  /// Waits until `wanted` in-flight slots are free (at most the whole bound) or the
  /// scheduler stops; returns the free room. The stream reader waits here so that it
  /// reads no faster than deliveries can start: a backlog stays in the stream instead of
  /// turning into queued work that competes with delivering it.
  boost::asio::awaitable<std::size_t> async_wait_for_room(std::size_t wanted);
  /// Events the reader may read now without running ahead of the endpoints they go to
  /// (delivery/read_pace); ask after async_wait_for_room.
  std::size_t readable() const;
  /// Events the reader may read ahead of room (delivery/read_pace).
  std::size_t readable_when_idle() const { return pace_.readable_when_idle(); }
  /// A batch of `events` was ingested: each endpoint's deliveries in it, and the endpoints
  /// the ingest script queued deliveries for (they count as full for a poll interval),
  /// and how many endpoints are enabled.
  void observe_read(std::size_t events, const std::unordered_map<std::string, std::size_t>& matched,
                    const std::vector<std::string>& queued_for, std::size_t endpoints);

  /// Stops claiming, lets in-flight attempts finish until the deadline, hands the leases
  /// of those still running back to the queue so another instance takes them, and writes
  /// every attempt record still waiting.
  boost::asio::awaitable<void> async_drain(std::chrono::milliseconds deadline);

  std::size_t in_flight() const noexcept { return slots_.in_flight(); }
  /// How long a lease lasts: well past the longest attempt.
  std::chrono::milliseconds lease_duration() const;

 private:
  boost::asio::awaitable<void> async_attempt(claimed_delivery item);
  /// Sets the oldest-due gauge from the heads of the due queues.
  boost::asio::awaitable<void> async_measure_oldest_due();
  /// Writes queued attempt records, many per script call, until async_drain() ends.
  boost::asio::awaitable<void> async_record_loop();
  boost::asio::awaitable<void> async_record(std::vector<redis::completion> batch);
  /// Hands leases that arrived after the drain began (an ingest or claim call that was
  /// already running) straight back as due now, without attempting them: the drain does
  /// not wait for attempts it never saw start.
  boost::asio::awaitable<void> async_hand_back(std::vector<claimed_delivery> items,
                                               std::string token);
  /// Hands these leases, all under `token`, back as due now; logs `what` with the count.
  boost::asio::awaitable<void> async_release(std::string token,
                                             std::vector<redis::release_request::lease> leases,
                                             std::string_view what);
  /// Hands the leases of attempts still running back as due now.
  boost::asio::awaitable<void> async_release_running();
  void start(claimed_delivery item, const std::string& token);
  /// The endpoint URL's parsed target (or why it is not one), parsed once per URL: a
  /// parse per attempt was a Boost.URL pass and a few allocations per delivery. Shared, so
  /// an attempt keeps its target while the cache starts over.
  std::shared_ptr<const std::variant<target, std::string>> target_of(const std::string& url);
  /// Forgets a finished attempt, queues its record and frees its slot. The record's lease
  /// token and endpoint are the slot's: the attempt need not carry copies of them.
  void finish(const std::string& delivery_id, std::optional<redis::completion> record);
  /// Ends the waits the accounting says must end.
  void carry_out(wakeups w);
  /// These attempts' records are going out on the connection: their endpoints' slots are
  /// free in Redis for every ingest call sent after them.
  void release_recorded(const std::vector<redis::completion>& records);

  boost::asio::any_io_executor executor_;
  redis::connection& conn_;
  http_client& client_;
  routing::registry& endpoints_;
  routing::endpoint_store& store_;
  const config::settings& settings_;
  std::string instance_id_;
  redis::keyspace keys_;
  boost::asio::steady_timer wake_timer_;
  boost::asio::steady_timer record_timer_;
  boost::asio::steady_timer room_timer_;
  slots slots_;
  read_pace pace_;
  record_outbox<redis::completion> outbox_;  // attempt records not yet written
  std::mt19937_64 random_;
  std::uint64_t claims_ = 0;
  static constexpr std::size_t max_targets = 4096;
  std::unordered_map<std::string, std::shared_ptr<const std::variant<target, std::string>>>
      targets_;
};

}  // namespace dispatcher::delivery
