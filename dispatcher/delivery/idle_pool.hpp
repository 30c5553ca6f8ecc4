// The HTTP client's keep-alive bookkeeping: idle connections per origin, most recently
// used first, at most a number per origin, none older than the idle timeout. A template
// over the connection type and with the time passed in, so the rules are unit-tested
// without sockets or clocks; the client (http_client.cpp) holds Beast streams in it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace dispatcher::delivery {

/// Idle connections an origin may keep: at least every connection the process's in-flight
/// bound can have open at once, so that many endpoints on one receiver (10 x 16 slots)
/// reuse their connections instead of closing and reopening the ones past a smaller
/// bound after every burst (0.7 connections per delivery at 10 endpoints with 32; issue
/// 9). The idle timeout still closes what stays unused.
constexpr std::size_t idle_per_origin(std::size_t max_in_flight) {
  return std::max<std::size_t>(32, max_in_flight);
}

template <class Connection>
class idle_pool {
 public:
  using clock = std::chrono::steady_clock;

  /// `max_per_origin` 0 keeps nothing (every attempt opens a connection).
  idle_pool(std::size_t max_per_origin, std::chrono::milliseconds idle_timeout)
      : max_per_origin_(max_per_origin), idle_timeout_(idle_timeout) {}

  /// The most recently used idle connection to origin, if one is still fresh (LIFO keeps
  /// the warmest connections busy and lets the others age out); null otherwise.
  std::unique_ptr<Connection> take(const std::string& origin, clock::time_point now) {
    auto it = idle_.find(origin);
    if (it == idle_.end()) return nullptr;
    std::unique_ptr<Connection> found;
    auto& stack = it->second;
    if (!stack.empty()) {
      if (now - stack.back().since < idle_timeout_) found = std::move(stack.back().conn);
      stack.pop_back();
      // The newest is stale, so every older one is too.
      if (!found) stack.clear();
    }
    // An emptied origin keeps its entry until the sweep: under load one origin's stack
    // empties and refills all the time, and erasing it cost three allocations per
    // attempt to put it back (issue 9).
    return found;
  }

  /// Keeps `conn` for reuse; the oldest of the origin's goes when it has too many.
  void put(const std::string& origin, std::unique_ptr<Connection> conn, clock::time_point now) {
    if (max_per_origin_ == 0) return;
    auto& stack = idle_[origin];
    stack.push_back({std::move(conn), now});
    if (stack.size() > max_per_origin_) stack.erase(stack.begin());
  }

  /// Drops idle connections older than the idle timeout across all origins. Does the work
  /// at most twice per idle timeout, so calling it from every attempt is cheap; that bounds
  /// how long a socket to an origin no longer posted to stays open, without a background
  /// task whose lifetime would have to be tied to the client's.
  void sweep(clock::time_point now) {
    if (now - last_sweep_ < idle_timeout_ / 2) return;
    last_sweep_ = now;
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto& stack = it->second;
      const auto fresh = std::find_if(stack.begin(), stack.end(), [&](const entry& e) {
        return now - e.since < idle_timeout_;
      });
      stack.erase(stack.begin(), fresh);  // oldest first: the stale ones are a prefix
      it = stack.empty() ? idle_.erase(it) : std::next(it);
    }
  }

  void clear() { idle_.clear(); }

  /// Idle connections held for origin.
  std::size_t size(const std::string& origin) const {
    const auto it = idle_.find(origin);
    return it == idle_.end() ? 0 : it->second.size();
  }
  /// Origins with at least one idle connection.
  std::size_t origins() const {
    return static_cast<std::size_t>(std::count_if(
        idle_.begin(), idle_.end(), [](const auto& origin) { return !origin.second.empty(); }));
  }

 private:
  struct entry {
    std::unique_ptr<Connection> conn;
    clock::time_point since;
  };
  std::size_t max_per_origin_;
  std::chrono::milliseconds idle_timeout_;
  std::unordered_map<std::string, std::vector<entry>> idle_;
  clock::time_point last_sweep_{};
};

}  // namespace dispatcher::delivery
