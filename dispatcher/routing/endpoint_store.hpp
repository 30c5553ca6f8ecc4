// Endpoints in Redis, and the registry each instance keeps in memory for matching. The
// registry polls a version counter that every change increments, so every instance sees
// a created, changed or deleted endpoint within one poll interval (250 ms) without
// reading all endpoints on every event.
//
// A hash that cannot be read (damaged JSON, a non-numeric field) and an endpoint whose
// secret cannot be decrypted are left out of the registry with an error log naming them:
// one bad record must never stop every other endpoint from being refreshed.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dispatcher/redis/connection.hpp"
#include "dispatcher/redis/keys.hpp"
#include "dispatcher/routing/endpoint.hpp"
#include "dispatcher/routing/endpoint_hash.hpp"
#include "dispatcher/signing/secret_box.hpp"

namespace dispatcher::routing {

template <class T>
struct lookup {
  std::error_code ec;
  T value{};
};

class endpoint_store {
 public:
  /// With `key`, secrets are sealed when written (DISPATCHER_ENCRYPTION_KEY).
  endpoint_store(redis::connection& conn, redis::keyspace keys, std::size_t endpoint_concurrency,
                 std::optional<signing::secret_box> key = std::nullopt)
      : conn_(conn),
        keys_(std::move(keys)),
        endpoint_concurrency_(endpoint_concurrency),
        key_(std::move(key)) {}

  /// Writes the endpoint (create or replace) and bumps the version; an enabled endpoint's
  /// waiting deliveries become eligible again.
  boost::asio::awaitable<std::error_code> async_put(const endpoint& ep);
  /// nullopt in value when there is no such endpoint or its hash cannot be read (logged).
  /// An endpoint whose secret cannot be decrypted comes back with secret_error set.
  boost::asio::awaitable<lookup<std::optional<endpoint>>> async_get(const std::string& id);
  /// All endpoints that can be read, newest first (see async_get).
  boost::asio::awaitable<lookup<std::vector<endpoint>>> async_list();
  /// False in value when there was no such endpoint.
  boost::asio::awaitable<lookup<bool>> async_remove(const std::string& id);
  boost::asio::awaitable<lookup<long long>> async_version();

 private:
  const signing::secret_box* sealing_key() const { return key_ ? &*key_ : nullptr; }

  redis::connection& conn_;
  redis::keyspace keys_;
  std::size_t endpoint_concurrency_;
  std::optional<signing::secret_box> key_;
};

using endpoint_map = std::unordered_map<std::string, endpoint>;

class registry {
 public:
  explicit registry(endpoint_store& store) : store_(store) {}

  /// Reloads when the version changed, until the connection stops. Never throws.
  boost::asio::awaitable<void> async_run(std::chrono::milliseconds interval);
  /// Loads once now; false when Redis could not be read.
  boost::asio::awaitable<bool> async_refresh();
  void stop() { stopped_ = true; }

  /// The current snapshot; cheap to copy, never null.
  std::shared_ptr<const endpoint_map> snapshot() const { return endpoints_; }
  /// The endpoints:version the current snapshot was read at (-1 before the first load).
  /// The version is read before the endpoints, so the snapshot holds at least every
  /// change up to it; changes only together with snapshot(), with no suspension between.
  long long version() const { return version_; }

 private:
  endpoint_store& store_;
  std::shared_ptr<const endpoint_map> endpoints_ = std::make_shared<endpoint_map>();
  long long version_ = -1;
  // Refreshes may overlap (the poll loop and a reader that found its snapshot stale); one
  // that started earlier must not replace what a later one installed.
  std::uint64_t refreshes_started_ = 0;
  std::uint64_t refresh_installed_ = 0;
  bool stopped_ = false;
};

}  // namespace dispatcher::routing
