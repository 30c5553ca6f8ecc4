// Answers the admin routes' questions from Redis; see redis_store.hpp. Each method is a
// translation, not a decision: the owning store's result becomes the interface's.
#include "dispatcher/admin/redis_store.hpp"

#include "dispatcher/common/asio_task.hpp"
#include "dispatcher/common/error.hpp"
#include "dispatcher/redis/fields.hpp"
#include "dispatcher/redis/keys.hpp"

namespace dispatcher::admin {

template <class T>
auto redis_store::on_redis(boost::asio::awaitable<T> op) {
  return on_asio(p_.executor, std::move(op));
}

namespace {

record to_record(history::query_result r) {
  return {r.ec, std::move(r.value)};
}

}  // namespace

task<group_check> redis_store::async_check_group() {
  if (!p_.conn.connected()) co_return group_check{};
  auto r =
      co_await on_redis(p_.conn.async_exec(redis::command{"XINFO", "GROUPS", p_.settings.stream}));
  if (r.ec || r.value.is_error()) {
    co_return group_check{group_check::state::unreadable, r.error_message()};
  }
  for (const auto& group : r.value.elements) {
    const auto fields = redis::to_fields(group);
    if (auto it = fields.find("name"); it != fields.end() && it->second == p_.settings.group) {
      co_return group_check{group_check::state::present, {}};
    }
  }
  co_return group_check{group_check::state::missing, {}};
}

task<stored<std::vector<routing::endpoint>>> redis_store::async_list_endpoints() {
  auto r = co_await on_redis(p_.endpoints.async_list());
  co_return stored<std::vector<routing::endpoint>>{r.ec, std::move(r.value)};
}

task<stored<std::optional<routing::endpoint>>> redis_store::async_get_endpoint(std::string id) {
  auto r = co_await on_redis(p_.endpoints.async_get(id));
  co_return stored<std::optional<routing::endpoint>>{r.ec, std::move(r.value)};
}

task<std::error_code> redis_store::async_save_endpoint(routing::endpoint ep) {
  if (auto ec = co_await on_redis(p_.endpoints.async_put(ep))) co_return ec;
  co_await on_redis(p_.registry.async_refresh());
  co_return std::error_code{};
}

task<std::error_code> redis_store::async_remove_endpoint(std::string id) {
  auto removed = co_await on_redis(p_.endpoints.async_remove(id));
  if (removed.ec) co_return removed.ec;
  co_await on_redis(p_.registry.async_refresh());
  co_return std::error_code{};
}

task<stored<nlohmann::json>> redis_store::async_list_deliveries(history::delivery_filter f) {
  auto r = co_await on_redis(p_.history.async_list_deliveries(f));
  co_return stored<nlohmann::json>{r.ec, r.value ? std::move(*r.value) : nlohmann::json()};
}

task<record> redis_store::async_get_delivery(std::string id) {
  co_return to_record(co_await on_redis(p_.history.async_get_delivery(id)));
}

task<record> redis_store::async_get_event(std::string id) {
  co_return to_record(co_await on_redis(p_.history.async_get_event(id)));
}

task<record> redis_store::async_get_connection(std::string id) {
  co_return to_record(co_await on_redis(p_.history.async_get_connection(id)));
}

task<stored<nlohmann::json>> redis_store::async_consumer_connections(
    std::string consumerid, std::optional<std::string> status) {
  auto r = co_await on_redis(p_.history.async_consumer_connections(consumerid, status));
  co_return stored<nlohmann::json>{r.ec, r.value ? std::move(*r.value) : nlohmann::json()};
}

task<stored<std::string>> redis_store::async_requeue_one(std::string delivery_id) {
  auto r = co_await on_redis(p_.replays.async_requeue_one(delivery_id));
  co_return stored<std::string>{r.ec, std::move(r.outcome)};
}

task<stored<replay_counts>> redis_store::async_requeue_matching(history::delivery_filter f,
                                                                bool dry_run) {
  auto r = co_await on_redis(p_.replays.async_requeue_matching(std::move(f), dry_run));
  co_return stored<replay_counts>{r.ec, {r.matched, r.queued}};
}

task<stored<bool>> redis_store::async_event_seen(std::string event_id) {
  auto r = co_await on_redis(p_.conn.async_exec(
      redis::command{"HEXISTS", redis::keyspace(p_.settings.stream).seen(), event_id}));
  if (auto ec = redis::error_of(r)) co_return stored<bool>{ec, false};
  co_return stored<bool>{{}, r.value.as_integer().value_or(0) > 0};
}

task<std::error_code> redis_store::async_append_event(std::string body) {
  auto r = co_await on_redis(
      p_.conn.async_exec(redis::command{"XADD", p_.settings.stream, "*", "payload", body}));
  co_return redis::error_of(r);
}

task<stored<dead_letter_page>> redis_store::async_list_dead_letters(ingest::dead_letter_query q) {
  auto r = co_await on_redis(dead_letters_.async_list(q));
  co_return stored<dead_letter_page>{r.ec, {std::move(r.items), std::move(r.next)}};
}

task<stored<std::optional<ingest::dead_letter>>> redis_store::async_get_dead_letter(
    std::string id) {
  auto r = co_await on_redis(dead_letters_.async_get(id));
  co_return stored<std::optional<ingest::dead_letter>>{r.ec, std::move(r.value)};
}

task<stored<bool>> redis_store::async_remove_dead_letter(std::string id) {
  auto r = co_await on_redis(dead_letters_.async_remove(id));
  co_return stored<bool>{r.ec, r.removed};
}

}  // namespace dispatcher::admin
