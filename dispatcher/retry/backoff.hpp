// Exponential backoff for the loops that retry Redis: the reconnect loop, the scheduler's
// claim and its attempt records, the stream reader's read and the trimmer. Each failure waits twice
// as long as the one before, up to a limit; a success starts over. The loops differ only in their
// two numbers, chosen (and explained) where each loop lives.
#pragma once

#include <algorithm>
#include <chrono>

namespace dispatcher::retry {

class backoff {
 public:
  /// `first` is the wait after the first failure; no wait exceeds `limit`, except `first`
  /// itself when it is larger (the trimmer's first retry may outlast a short interval).
  constexpr backoff(std::chrono::milliseconds first, std::chrono::milliseconds limit) noexcept
      : first_(first), limit_(limit), current_(first) {}

  /// The wait after this failure; the next one doubles it, up to the limit.
  constexpr std::chrono::milliseconds next() noexcept {
    const auto wait = current_;
    current_ = std::min(current_ * 2, limit_);
    return wait;
  }
  /// What next() will return, for a log line written before the wait.
  constexpr std::chrono::milliseconds peek() const noexcept { return current_; }
  /// After a success: the next failure waits `first` again.
  constexpr void reset() noexcept { current_ = first_; }

 private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds limit_;
  std::chrono::milliseconds current_;
};

}  // namespace dispatcher::retry
