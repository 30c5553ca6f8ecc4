// The admin store (admin/store.hpp) on Redis: each question the routes ask, answered
// through the stores that own the keys (endpoints, history, dead letters, replays) or,
// for the three that have no such owner (the consumer group's presence, whether an event
// id was seen, appending an event), with one command here. Only this side of the seam
// knows Asio; it joins the routes' tasks to the connection's coroutines with
// common/asio_task.hpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "dispatcher/admin/store.hpp"
#include "dispatcher/config/settings.hpp"
#include "dispatcher/history/store.hpp"
#include "dispatcher/ingest/dead_letters.hpp"
#include "dispatcher/redis/connection.hpp"
#include "dispatcher/replay/requeuer.hpp"
#include "dispatcher/routing/endpoint_store.hpp"

namespace dispatcher::admin {

struct redis_store_parts {
  /// Where the Redis coroutines run; the routes resume there.
  boost::asio::any_io_executor executor;
  const config::settings& settings;
  redis::connection& conn;
  routing::endpoint_store& endpoints;
  history::store& history;
  /// Refreshed after an endpoint changes, before the answer, so an event published right
  /// after a successful create already matches here (other instances: next poll).
  routing::registry& registry;
  replay::requeuer& replays;
};

class redis_store final : public store {
 public:
  explicit redis_store(redis_store_parts parts)
      : p_(std::move(parts)), dead_letters_(p_.conn, p_.settings.dead_letter_stream()) {}

  task<group_check> async_check_group() override;
  task<stored<std::vector<routing::endpoint>>> async_list_endpoints() override;
  task<stored<std::optional<routing::endpoint>>> async_get_endpoint(std::string id) override;
  task<std::error_code> async_save_endpoint(routing::endpoint ep) override;
  task<std::error_code> async_remove_endpoint(std::string id) override;
  task<stored<nlohmann::json>> async_list_deliveries(history::delivery_filter f) override;
  task<record> async_get_delivery(std::string id) override;
  task<record> async_get_event(std::string id) override;
  task<record> async_get_connection(std::string id) override;
  task<stored<nlohmann::json>> async_consumer_connections(
      std::string consumerid, std::optional<std::string> status) override;
  task<stored<std::string>> async_requeue_one(std::string delivery_id) override;
  task<stored<replay_counts>> async_requeue_matching(history::delivery_filter f,
                                                     bool dry_run) override;
  task<stored<bool>> async_event_seen(std::string event_id) override;
  task<std::error_code> async_append_event(std::string body) override;
  task<stored<dead_letter_page>> async_list_dead_letters(ingest::dead_letter_query q) override;
  task<stored<std::optional<ingest::dead_letter>>> async_get_dead_letter(std::string id) override;
  task<stored<bool>> async_remove_dead_letter(std::string id) override;

 private:
  template <class T>
  auto on_redis(boost::asio::awaitable<T> op);

  redis_store_parts p_;
  ingest::dead_letter_store dead_letters_;
};

}  // namespace dispatcher::admin
