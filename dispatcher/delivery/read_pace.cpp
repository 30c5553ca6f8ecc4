// The reader's pacing per endpoint (read_pace.hpp): pure state, no I/O.
#include "dispatcher/delivery/read_pace.hpp"

#include <algorithm>
#include <cmath>

namespace dispatcher::delivery {

namespace {

// An endpoint's share follows the batches read: half the last one, half what came before,
// so one odd batch neither hides an endpoint nor makes it dominate. Below this it is
// forgotten (an endpoint no longer matched, or deleted).
constexpr double forget_share = 0.01;

}  // namespace

read_pace::read_pace(std::size_t endpoint_limit, std::size_t batch_max,
                     std::chrono::steady_clock::duration probe_every)
    : limit_(std::max<std::size_t>(endpoint_limit, 1)),
      batch_(std::max<std::size_t>(batch_max, 1)),
      probe_every_(probe_every) {}

void read_pace::started(const std::string& endpoint) {
  ++in_flight_[endpoint];
}

bool read_pace::released(const std::string& endpoint, time_point now) {
  auto it = in_flight_.find(endpoint);
  if (it != in_flight_.end() && --it->second == 0) in_flight_.erase(it);
  if (wanted_ == 0) return false;
  // Only this endpoint's room changed, so only its own answer can have reached the wait.
  const auto share = share_.find(endpoint);
  return share != share_.end() && events_for(share->second, room(endpoint, now)) >= wanted_;
}

void read_pace::observe(std::size_t events,
                        const std::unordered_map<std::string, std::size_t>& matched,
                        const std::vector<std::string>& queued, time_point until,
                        std::size_t endpoints) {
  probing_ = false;
  for (const auto& endpoint : queued) full_until_[endpoint] = until;
  // Marks long past are dropped, so endpoints that are gone do not pile up.
  std::erase_if(full_until_, [&](const auto& f) { return f.second + probe_every_ < until; });
  if (events > 0) {
    for (auto& [endpoint, share] : share_) share /= 2;
    for (const auto& [endpoint, count] : matched) {
      const double now_share = static_cast<double>(count) / static_cast<double>(events);
      // A newly matched endpoint starts at its share, not half of it: reading twice what
      // it can take would queue the rest at once.
      auto [it, fresh] = share_.try_emplace(endpoint, now_share);
      if (!fresh) it->second += now_share / 2;
    }
    std::erase_if(share_, [](const auto& s) { return s.second < forget_share; });
  }
  others_ = endpoints > share_.size();
}

std::size_t read_pace::room(const std::string& endpoint, time_point now) const {
  if (auto full = full_until_.find(endpoint); full != full_until_.end() && now < full->second) {
    return 0;
  }
  const auto busy = in_flight(endpoint);
  return busy < limit_ ? limit_ - busy : 0;
}

std::size_t read_pace::events_for(double share, std::size_t free) const {
  const double events = std::floor(static_cast<double>(free) / share);
  return events >= static_cast<double>(batch_) ? batch_ : static_cast<std::size_t>(events);
}

std::size_t read_pace::readable(time_point now) const {
  // Nothing matched lately: no endpoint to wait for.
  if (share_.empty() || probing_) return batch_;
  std::size_t most = 0;
  for (const auto& [endpoint, share] : share_) {
    most = std::max(most, events_for(share, room(endpoint, now)));
    if (most == batch_) break;
  }
  return most;
}

std::size_t read_pace::readable_when_idle() const {
  if (share_.empty()) return batch_;
  std::size_t most = 0;
  for (const auto& [endpoint, share] : share_) most = std::max(most, events_for(share, limit_));
  return most;
}

bool read_pace::must_wait(time_point now) {
  const std::size_t wanted =
      share_.empty() ? 1 : std::max<std::size_t>(1, readable_when_idle() / 2);
  wanted_ = 0;
  if (readable(now) >= wanted) return false;
  if (others_ && now >= next_probe_) {
    probing_ = true;
    next_probe_ = now + probe_every_;
    return false;
  }
  wanted_ = wanted;
  return true;
}

std::size_t read_pace::in_flight(const std::string& endpoint) const {
  const auto it = in_flight_.find(endpoint);
  return it == in_flight_.end() ? 0 : it->second;
}

}  // namespace dispatcher::delivery
