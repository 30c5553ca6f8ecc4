// The in-flight slot rules (slots.hpp): pure state, no I/O.
#include "dispatcher/delivery/slots.hpp"

#include <algorithm>

namespace dispatcher::delivery {

std::size_t slots::room() const noexcept {
  const std::size_t busy = running_.size() + reserved_ + claim_hold_;
  return bound_ > busy ? bound_ - busy : 0;
}

bool slots::room_waiter_served() const noexcept {
  return room_wanted_ > 0 && room() >= room_wanted_;
}

wakeups slots::wake() {
  woken_ = true;
  return {.claim_loop = true};
}

std::optional<std::size_t> slots::reserve(std::size_t wanted) {
  if (stopping_) return std::nullopt;
  const std::size_t free = room();
  const std::size_t granted = std::min(wanted, free + claim_hold_);
  claim_hold_ -= granted - std::min(granted, free);
  reserved_ += granted;
  return granted;
}

void slots::start(std::string delivery_id, lease held) {
  running_.emplace(std::move(delivery_id), std::move(held));
}

wakeups slots::adopt(std::size_t granted, std::size_t leased) {
  reserved_ -= granted;
  // The claim loop stopped for want of room that this grant held and did not use.
  if (room_limited_ && leased < granted) return wake();
  return {};
}

wakeups slots::finish(const std::string& delivery_id) {
  lease ignored;
  return finish(delivery_id, ignored);
}

wakeups slots::finish(const std::string& delivery_id, lease& held) {
  if (auto it = running_.find(delivery_id); it != running_.end()) {
    held = std::move(it->second);
    running_.erase(it);
  }
  wakeups w;
  if (room_limited_) w = wake();  // the claim loop waits for this slot
  w.room_waiter = room_waiter_served();
  return w;
}

std::size_t slots::begin_claim(std::size_t cap) {
  if (stopping_) return 0;
  claim_hold_ = 0;  // a claim that never ended holds nothing into the next one
  claim_room_ = room();
  room_limited_ = claim_room_ == 0;
  claim_want_ = std::min(claim_room_, cap);
  claim_hold_ = claim_want_;
  return claim_want_;
}

claim_end slots::claimed(std::size_t got) {
  // What the claim still holds, and what finished attempts freed meanwhile.
  claim_hold_ = 0;
  claim_end end{.keep = std::min(got, room()), .claim_again = false, .wake = {}};
  if (end.keep < got) {
    // The reader took the room: the loop waits for a slot to free, as when the bound cut
    // a claim short.
    room_limited_ = true;
  } else {
    end.claim_again = got == claim_want_;
    // Only a claim that took the whole room was cut short by the bound; one capped below
    // it just claims again.
    room_limited_ = end.claim_again && claim_want_ == claim_room_;
  }
  end.wake.room_waiter = room_waiter_served();
  return end;
}

wakeups slots::claim_failed() {
  claim_hold_ = 0;
  return {.claim_loop = false, .room_waiter = room_waiter_served()};
}

bool slots::wait_for_room(std::size_t wanted) {
  wanted = std::clamp<std::size_t>(wanted, 1, bound_);
  if (stopping_ || room() >= wanted) return false;
  room_wanted_ = wanted;
  return true;
}

std::size_t slots::end_room_wait() noexcept {
  room_wanted_ = 0;
  return room();
}

wakeups slots::stop() {
  stopping_ = true;
  wake();
  return {.claim_loop = true, .room_waiter = true};
}

}  // namespace dispatcher::delivery
