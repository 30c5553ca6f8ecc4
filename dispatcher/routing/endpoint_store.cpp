// Endpoints in Redis and the registry's refresh loop. Writes are one MULTI/EXEC so the
// version bump and the record change together; readers compare versions, not records.
#include "dispatcher/routing/endpoint_store.hpp"

#include <charconv>
#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dispatcher/common/error.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/obs/log.hpp"
#include "dispatcher/redis/eval.hpp"
#include "dispatcher/redis/fields.hpp"
#include "dispatcher/redis/script_io.hpp"

namespace dispatcher::routing {

namespace asio = boost::asio;

namespace {

using redis::error_of;

/// Reads one HGETALL reply; a hash that cannot be read is logged, naming it, and skipped.
std::optional<endpoint> from_hash(const redis::reply& r, const std::string& key,
                                  const signing::secret_box* secret_key) {
  if (r.type != redis::reply::kind::array || r.elements.empty()) return std::nullopt;
  auto parsed = endpoint_from_hash(redis::to_fields(r), secret_key);
  if (auto* why = std::get_if<std::string>(&parsed)) {
    obs::log_error("endpoint record skipped: it cannot be read", {{"key", key}, {"error", *why}});
    return std::nullopt;
  }
  return std::get<endpoint>(std::move(parsed));
}

}  // namespace

asio::awaitable<std::error_code> endpoint_store::async_put(const endpoint& ep) {
  const std::string key = keys_.endpoint(ep.id);
  std::vector<redis::command> cmds;
  cmds.push_back(redis::command{"MULTI"});
  const std::string enabled = ep.enabled ? "1" : "0";
  cmds.push_back(redis::command{"HSET", key, "json", to_storage(ep, sealing_key()), "enabled",
                                enabled, "disabled_reason", ep.disabled_reason, "updated_at",
                                std::to_string(ep.updated_at_ms)});
  if (ep.rate_limit) {
    // The shortest text that reads back as the same double: std::to_string would print
    // 0.0000001 as "0.000000", which the claim script would read as no delivery ever.
    char rate[32];
    const auto end = std::to_chars(rate, rate + sizeof rate, *ep.rate_limit).ptr;
    cmds.push_back(redis::command{"HSET", key, "rate_limit", std::string(rate, end)});
  } else {
    cmds.push_back(redis::command{"HDEL", key, "rate_limit"});
  }
  // The scripts read the ordering from the hash; wake_endpoint below applies a change of
  // it to what waits.
  if (ep.ordering == ordering_mode::connection) {
    cmds.push_back(redis::command{"HSET", key, "ordering", "connection"});
  } else {
    cmds.push_back(redis::command{"HDEL", key, "ordering"});
  }
  cmds.push_back(
      redis::command{"ZADD", keys_.endpoints(), std::to_string(ep.created_at_ms), ep.id});
  cmds.push_back(redis::command{"INCR", keys_.endpoints_version()});
  // Named, not a braced temporary: GCC 12 cannot keep an initializer_list's array alive
  // across co_await ("array used as initializer").
  const auto wake_args = redis::encode(
      redis::wake_request{keys_.stream(), ep.id, endpoint_concurrency_, unix_now_ms()});
  cmds.push_back(redis::evalsha_command(redis::wake_endpoint, wake_args));
  cmds.push_back(redis::command{"EXEC"});
  auto replies = co_await conn_.async_exec(std::move(cmds));
  for (const auto& r : replies) {
    if (auto ec = error_of(r)) co_return ec;
  }
  // EXEC's reply holds each command's answer; a NOSCRIPT there means the wake script was
  // not cached yet: run it on its own (it only recomputes readiness, so doing it late is safe).
  const auto& exec = replies.back().value;
  if (exec.type == redis::reply::kind::array && !exec.elements.empty() &&
      exec.elements.back().is_error()) {
    auto wake = co_await redis::async_eval(conn_, redis::wake_endpoint, wake_args);
    if (auto ec = error_of(wake)) co_return ec;
  }
  co_return std::error_code{};
}

asio::awaitable<lookup<std::optional<endpoint>>> endpoint_store::async_get(const std::string& id) {
  const auto key = keys_.endpoint(id);
  auto r = co_await conn_.async_exec(redis::command{"HGETALL", key});
  if (auto ec = error_of(r)) co_return lookup<std::optional<endpoint>>{ec, std::nullopt};
  co_return lookup<std::optional<endpoint>>{{}, from_hash(r.value, key, sealing_key())};
}

asio::awaitable<lookup<std::vector<endpoint>>> endpoint_store::async_list() {
  auto ids = co_await conn_.async_exec(redis::command{"ZREVRANGE", keys_.endpoints(), "0", "-1"});
  if (auto ec = error_of(ids)) co_return lookup<std::vector<endpoint>>{ec, {}};
  std::vector<redis::command> gets;
  std::vector<std::string> gets_keys;
  for (const auto& id : redis::to_strings(ids.value)) {
    gets_keys.push_back(keys_.endpoint(id));
    gets.push_back(redis::command{"HGETALL", gets_keys.back()});
  }
  auto replies = co_await conn_.async_exec(std::move(gets));
  lookup<std::vector<endpoint>> out;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const auto& r = replies[i];
    if (auto ec = error_of(r)) co_return lookup<std::vector<endpoint>>{ec, {}};
    if (auto ep = from_hash(r.value, gets_keys[i], sealing_key()))
      out.value.push_back(std::move(*ep));
  }
  co_return out;
}

asio::awaitable<lookup<bool>> endpoint_store::async_remove(const std::string& id) {
  std::vector<redis::command> cmds;
  cmds.push_back(redis::command{"MULTI"});
  cmds.push_back(redis::command{"DEL", keys_.endpoint(id)});
  cmds.push_back(redis::command{"ZREM", keys_.endpoints(), id});
  cmds.push_back(redis::command{"INCR", keys_.endpoints_version()});
  cmds.push_back(redis::command{"EXEC"});
  auto replies = co_await conn_.async_exec(std::move(cmds));
  for (const auto& r : replies) {
    if (auto ec = error_of(r)) co_return lookup<bool>{ec, false};
  }
  const auto& exec = replies.back().value;
  const bool existed = exec.type == redis::reply::kind::array && !exec.elements.empty() &&
                       exec.elements.front().integer > 0;
  co_return lookup<bool>{{}, existed};
}

asio::awaitable<lookup<long long>> endpoint_store::async_version() {
  auto r = co_await conn_.async_exec(redis::command{"GET", keys_.endpoints_version()});
  if (auto ec = error_of(r)) co_return lookup<long long>{ec, 0};
  co_return lookup<long long>{{}, r.value.as_integer().value_or(0)};
}

asio::awaitable<bool> registry::async_refresh() {
  const auto ticket = ++refreshes_started_;
  // The version first: a change landing between the two reads is then in the list but not
  // in the version, and the ingest script's version check sends the reader back here.
  auto version = co_await store_.async_version();
  if (version.ec) co_return false;
  if (version.value == version_) co_return true;
  auto all = co_await store_.async_list();
  if (all.ec) co_return false;
  if (ticket < refresh_installed_) co_return true;  // a later refresh already installed newer
  auto fresh = std::make_shared<endpoint_map>();
  for (auto& ep : all.value) {
    if (!ep.secret_error.empty()) {
      // Signing with a secret we could not open would send webhooks no receiver accepts.
      obs::log_error("endpoint skipped: " + ep.secret_error, {{"endpoint", ep.id}});
      continue;
    }
    fresh->emplace(ep.id, std::move(ep));
  }
  endpoints_ = std::move(fresh);
  version_ = version.value;
  refresh_installed_ = ticket;
  co_return true;
}

asio::awaitable<void> registry::async_run(std::chrono::milliseconds interval) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopped_) {
    // Whatever goes wrong in one refresh, the next one runs: a loop that ended here would
    // freeze every instance's view of its endpoints until restart.
    try {
      if (!co_await async_refresh()) {
        obs::log_debug("endpoint registry refresh failed; keeping the last snapshot");
      }
    } catch (const std::exception& e) {
      obs::log_error("endpoint registry refresh failed; keeping the last snapshot",
                     {{"error", e.what()}});
    }
    timer.expires_after(interval);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace dispatcher::routing
