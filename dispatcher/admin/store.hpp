// What the admin routes ask of storage, as one small interface: the seam between the
// routes (admin/routes.hpp, pure, in the logic library) and Redis (admin/redis_store.hpp,
// in the I/O library). Each method is one question or one change the API needs; the
// decisions around it (which status, which message, what to check first) stay in the
// routes, so they are unit-tested against an in-memory fake of this interface.
//
// Every answer carries an error_code: a failure to reach storage is a value, which the
// routes turn into a 503.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "dispatcher/common/task.hpp"
#include "dispatcher/history/filter.hpp"
#include "dispatcher/ingest/dead_letter.hpp"
#include "dispatcher/routing/endpoint.hpp"

namespace dispatcher::admin {

/// A store's answer: the value, unless ec says storage could not be asked.
template <class T>
struct stored {
  std::error_code ec;
  T value{};
};

/// What readiness needs to know of the event stream's consumer group.
struct group_check {
  enum class state {
    not_connected,  // no connection to storage at all
    unreadable,     // asking failed; `failure` says why
    missing,        // the stream has no such group
    present,
  };
  state status = state::not_connected;
  std::string failure;
};

/// A history record rendered for the API, nullopt when there is none.
using record = stored<std::optional<nlohmann::json>>;

struct replay_counts {
  std::size_t matched = 0;
  std::size_t queued = 0;
};

struct dead_letter_page {
  std::vector<ingest::dead_letter> items;
  std::optional<std::string> next;  // the cursor of the next page, nullopt at the end
};

class store {
 public:
  virtual ~store() = default;

  virtual task<group_check> async_check_group() = 0;

  /// All endpoints that can be read, newest first.
  virtual task<stored<std::vector<routing::endpoint>>> async_list_endpoints() = 0;
  /// `id` has the shape of an endpoint id.
  virtual task<stored<std::optional<routing::endpoint>>> async_get_endpoint(std::string id) = 0;
  /// Creates or replaces it; once this returns, events published here already match it.
  virtual task<std::error_code> async_save_endpoint(routing::endpoint ep) = 0;
  /// Removes it; once this returns, events published here no longer match it.
  virtual task<std::error_code> async_remove_endpoint(std::string id) = 0;

  /// The history views, rendered as the API shows them (history/store.hpp).
  virtual task<stored<nlohmann::json>> async_list_deliveries(history::delivery_filter f) = 0;
  virtual task<record> async_get_delivery(std::string id) = 0;
  virtual task<record> async_get_event(std::string id) = 0;
  virtual task<record> async_get_connection(std::string id) = 0;
  virtual task<stored<nlohmann::json>> async_consumer_connections(
      std::string consumerid, std::optional<std::string> status) = 0;

  /// A new attempt now for one delivery: "queued", or why not ("not_found", "in_flight",
  /// "endpoint_disabled", "endpoint_deleted", "event_expired", or its current status).
  virtual task<stored<std::string>> async_requeue_one(std::string delivery_id) = 0;
  /// Every delivery matching the filter, paced; with dry_run only counted.
  virtual task<stored<replay_counts>> async_requeue_matching(history::delivery_filter f,
                                                             bool dry_run) = 0;

  /// Whether an event with this id was accepted before.
  virtual task<stored<bool>> async_event_seen(std::string event_id) = 0;
  /// Appends the event's bytes to the event stream, where ingest picks them up.
  virtual task<std::error_code> async_append_event(std::string body) = 0;

  virtual task<stored<dead_letter_page>> async_list_dead_letters(ingest::dead_letter_query q) = 0;
  /// `id` is a stream id.
  virtual task<stored<std::optional<ingest::dead_letter>>> async_get_dead_letter(
      std::string id) = 0;
  /// False when there was no such entry.
  virtual task<stored<bool>> async_remove_dead_letter(std::string id) = 0;
};

}  // namespace dispatcher::admin
