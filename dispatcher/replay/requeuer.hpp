// Operators' replays: one delivery now, or every delivery matching a filter, paced per
// endpoint so that a bulk replay of 100k deliveries never starves fresh traffic. Each
// replayed delivery gets one manual attempt, with the same webhook-id and body bytes.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <system_error>

#include <boost/asio/awaitable.hpp>

#include "dispatcher/config/settings.hpp"
#include "dispatcher/history/filter.hpp"
#include "dispatcher/history/store.hpp"
#include "dispatcher/redis/connection.hpp"

namespace dispatcher::replay {

struct single_outcome {
  std::error_code ec;
  /// "queued", or why not (see requeue_deliveries in redis/scripts.hpp).
  std::string outcome;
};

struct bulk_outcome {
  std::error_code ec;
  std::size_t matched = 0;
  std::size_t queued = 0;
};

class requeuer {
 public:
  /// `queued` is called when deliveries became due, to wake the scheduler.
  requeuer(redis::connection& conn, history::store& history, const config::settings& settings,
           std::function<void()> queued);

  /// A new attempt now for a failed or succeeded delivery.
  boost::asio::awaitable<single_outcome> async_requeue_one(const std::string& delivery_id);

  /// Every delivery matching `filter` (its status must be failed or succeeded), walked in
  /// pages; with dry_run only counted.
  boost::asio::awaitable<bulk_outcome> async_requeue_matching(history::delivery_filter filter,
                                                              bool dry_run);

 private:
  /// The outcome per id (redis::decode_requeue), or the error.
  struct outcomes {
    std::error_code ec;
    std::vector<std::string> per_id;
  };
  boost::asio::awaitable<outcomes> async_requeue(std::vector<std::string> ids, bool paced,
                                                 std::vector<history::delivery_status> statuses);

  redis::connection& conn_;
  history::store& history_;
  const config::settings& settings_;
  std::function<void()> queued_;
};

}  // namespace dispatcher::replay
