// Runs due deliveries: claims them from Redis under a lease (claim_due), makes one signed
// attempt each, and records the attempt with the delivery's next state in one atomic step
// (complete_attempt). In-flight attempts are bounded per process here and per endpoint in
// the claim script, so a slow endpoint's backlog waits in Redis, not in memory. A lease
// that outlives its owner (a crash) expires and the delivery becomes due again.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_set>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dispatcher/config/settings.hpp"
#include "dispatcher/delivery/http_client.hpp"
#include "dispatcher/redis/connection.hpp"
#include "dispatcher/routing/endpoint_store.hpp"

namespace dispatcher::delivery {

struct claimed_delivery {
  std::string id;
  std::string endpoint_id;
  std::string event_id;
  int attempts_before = 0;
  std::optional<std::string> payload;  // nullopt when the event expired
  bool manual = false;                 // an operator's replay
};

class scheduler {
 public:
  scheduler(boost::asio::any_io_executor executor, redis::connection& conn, http_client& client,
            routing::registry& endpoints, routing::endpoint_store& store,
            const config::settings& settings, std::string instance_id);

  /// Claims and runs deliveries until async_drain().
  boost::asio::awaitable<void> async_run();

  /// New work may be due now (an event was ingested, a slot freed): claim without waiting
  /// for the poll interval.
  void wake();

  /// Stops claiming, lets in-flight attempts finish until the deadline, then hands the
  /// leases of those still running back to the queue so another instance takes them.
  boost::asio::awaitable<void> async_drain(std::chrono::milliseconds deadline);

  std::size_t in_flight() const noexcept { return running_.size(); }

 private:
  boost::asio::awaitable<void> async_attempt(claimed_delivery item, std::string token);
  boost::asio::awaitable<void> async_complete(std::vector<std::string> args);
  std::chrono::milliseconds lease_duration() const;
  /// Forgets a finished attempt and frees its slot.
  void finish(const std::string& delivery_id);

  boost::asio::any_io_executor executor_;
  redis::connection& conn_;
  http_client& client_;
  routing::registry& endpoints_;
  routing::endpoint_store& store_;
  const config::settings& settings_;
  std::string instance_id_;
  boost::asio::steady_timer wake_timer_;
  std::unordered_map<std::string, std::string> running_;  // delivery id -> lease token
  std::mt19937_64 random_;
  std::uint64_t claims_ = 0;
  bool woken_ = false;
  bool stopping_ = false;
};

}  // namespace dispatcher::delivery
