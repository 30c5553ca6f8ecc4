// The one place that knows every part of the running service and the order they start and
// stop in; the parts only know what they are handed, so each can be tested on its own.
#include "dispatcher/app/service.hpp"

#include <csignal>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dispatcher/admin/api.hpp"
#include "dispatcher/admin/server.hpp"
#include "dispatcher/common/spawn_guard.hpp"
#include "dispatcher/delivery/http_client.hpp"
#include "dispatcher/delivery/idle_pool.hpp"
#include "dispatcher/delivery/scheduler.hpp"
#include "dispatcher/history/store.hpp"
#include "dispatcher/ingest/stream_reader.hpp"
#include "dispatcher/ingest/stream_trimmer.hpp"
#include "dispatcher/obs/log.hpp"
#include "dispatcher/redis/connection.hpp"
#include "dispatcher/redis/keys.hpp"
#include "dispatcher/redis/scripts.hpp"
#include "dispatcher/replay/requeuer.hpp"
#include "dispatcher/routing/endpoint_store.hpp"
#include "dispatcher/signing/secret_box.hpp"

namespace dispatcher::app {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

/// Marks an empty Redis with our layout version, and says why not to start on one that
/// holds another (redis::layout_problem). Waits out a Redis that does not answer.
asio::awaitable<std::optional<std::string>> async_check_layout(redis::connection& conn,
                                                               const redis::keyspace& keys) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    std::vector<redis::command> cmds;
    cmds.push_back(
        redis::command{"EXISTS", "endpoints:version", "endpoints", "idx:dlv", "q:leases"});
    cmds.push_back(redis::command{"GET", keys.layout()});
    auto replies = co_await conn.async_exec(std::move(cmds));
    if (!redis::error_of(replies[0]) && !redis::error_of(replies[1])) {
      const bool legacy = replies[0].value.as_integer().value_or(0) > 0;
      std::optional<std::string> stored;
      if (!replies[1].value.is_nil()) stored = replies[1].value.str;
      if (auto problem = redis::layout_problem(stored, legacy)) co_return problem;
      if (stored) co_return std::nullopt;
      auto set = co_await conn.async_exec(
          redis::command{"SET", keys.layout(), redis::layout_version, "NX"});
      if (!redis::error_of(set)) continue;  // read it back: another instance may have won
    }
    timer.expires_after(1s);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

struct service::impl {
  config::settings settings;
  asio::io_context io{1};
  std::promise<std::uint16_t> listening;
  std::atomic<bool> listening_set{false};
  std::function<void()> shutdown;  // set while running, used on the io thread only

  void announce(std::uint16_t port) {
    if (!listening_set.exchange(true)) listening.set_value(port);
  }
};

service::service(config::settings settings) : impl_(std::make_unique<impl>()) {
  impl_->settings = std::move(settings);
}

service::~service() = default;

std::uint16_t service::wait_until_listening() {
  return impl_->listening.get_future().get();
}

void service::stop() {
  asio::post(impl_->io, [s = impl_.get()] {
    if (s->shutdown) s->shutdown();
  });
}

int service::run(bool handle_signals) {
  auto& s = *impl_;
  const auto& settings = s.settings;
  const auto executor = s.io.get_executor();
  const auto address = config::parse_redis_url(settings.redis_url);

  auto connection_for = [&](std::string role, std::chrono::milliseconds timeout,
                            std::vector<redis::command> on_connect = {}) {
    redis::connection_options o;
    o.host = address.host;
    o.port = address.port;
    o.password = address.password;
    o.db = address.db;
    o.client_name = "dispatcher:" + settings.consumer + ":" + role;
    o.command_timeout = timeout;
    o.on_connect = std::move(on_connect);
    return std::make_shared<redis::connection>(executor, o);
  };
  // The scripts' calls go on the main connection, loaded on every connect: the reader counts
  // on their running in the order sent (redis/connection.hpp: on_connect).
  std::vector<redis::command> load_scripts;
  for (const auto* script : redis::all_scripts()) {
    load_scripts.push_back(redis::command{"SCRIPT", "LOAD", script->source});
  }
  auto conn = connection_for("main", 5s, std::move(load_scripts));
  // Only XREADGROUP BLOCK runs here; its deadline is set per command.
  auto blocking = connection_for("reader", 10s);

  const redis::keyspace keys(settings.stream);
  routing::endpoint_store endpoint_store(
      *conn, keys, settings.endpoint_concurrency,
      settings.encryption_key.empty() ? std::nullopt
                                      : signing::secret_box::from_base64(settings.encryption_key));
  routing::registry registry(endpoint_store);
  delivery::client_options client_options;
  client_options.request_timeout = settings.request_timeout;
  client_options.ca_file = settings.ca_file;
  client_options.allow_private_targets = settings.allow_private_targets;
  client_options.max_idle_per_origin = delivery::idle_per_origin(settings.max_in_flight);
  delivery::http_client client(executor, client_options);
  delivery::scheduler scheduler(executor, *conn, client, registry, endpoint_store, settings,
                                settings.consumer);
  ingest::stream_reader reader(*blocking, *conn, settings, registry, scheduler);
  ingest::stream_trimmer trimmer(executor, *conn, settings);
  history::store history(*conn, keys);
  replay::requeuer replays(*conn, history, settings, [&scheduler] { scheduler.wake(); });
  admin::api api({executor, settings, *conn, endpoint_store, history, registry, replays});

  std::unique_ptr<admin::server> server;
  try {
    server = std::make_unique<admin::server>(
        executor, settings.listen,
        [&api](admin::request r) { return api.async_handle(std::move(r)); },
        [&api](std::string_view path, std::string_view authorization) {
          return api.authorize(path, authorization);
        });
  } catch (const std::exception& e) {
    obs::log_error("cannot listen", {{"listen", settings.listen}, {"error", e.what()}});
    s.announce(0);
    return 1;
  }

  asio::signal_set signals(s.io);
  int exit_code = 0;
  bool shutting_down = false;
  s.shutdown = [&] {
    if (shutting_down) return;
    shutting_down = true;
    signals.cancel();
    asio::co_spawn(
        executor,
        [&]() -> asio::awaitable<void> {
          obs::log_info("shutting down", {{"in_flight", std::to_string(scheduler.in_flight())}});
          reader.stop();
          trimmer.stop();
          blocking->stop();  // ends a blocked XREADGROUP now rather than after its timeout
          co_await scheduler.async_drain(settings.shutdown_timeout);
          server->stop();
          registry.stop();
          client.close_idle();
          conn->stop();
          s.io.stop();
        },
        log_exceptions("shutdown"));
  };
  if (handle_signals) {
    signals.add(SIGINT);
    signals.add(SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      obs::log_info("signal received", {{"signal", std::to_string(signal)}});
      s.shutdown();
    });
  }

  asio::co_spawn(executor, conn->async_run(), log_exceptions("redis main connection"));
  asio::co_spawn(executor, blocking->async_run(), log_exceptions("redis reader connection"));
  asio::co_spawn(
      executor,
      [&]() -> asio::awaitable<void> {
        if (!co_await conn->async_wait_connected(5s)) {
          obs::log_warn("redis is not reachable yet; retrying in the background",
                        {{"redis", address.host + ":" + std::to_string(address.port)}});
        }
        if (auto problem = co_await async_check_layout(*conn, keys)) {
          obs::log_error("cannot start: " + *problem, {{"layout_key", keys.layout()}});
          exit_code = 2;
          s.shutdown();
          co_return;
        }
        co_await registry.async_refresh();
        asio::co_spawn(executor, registry.async_run(250ms), log_exceptions("endpoint registry"));
        asio::co_spawn(executor, reader.async_run(), log_exceptions("stream reader"));
        // The contract asks for a trim at least once a minute.
        asio::co_spawn(executor, trimmer.async_run(30s), log_exceptions("stream trimmer"));
        asio::co_spawn(executor, scheduler.async_run(), log_exceptions("scheduler"));
      },
      log_exceptions("startup"));
  asio::co_spawn(executor, server->async_run(), log_exceptions("admin server"));
  obs::log_info("dispatcher started", {{"listen", settings.listen},
                                       {"port", std::to_string(server->port())},
                                       {"consumer", settings.consumer},
                                       {"stream", settings.stream},
                                       {"version", DISPATCHER_VERSION}});
  s.announce(server->port());
  s.io.run();
  s.shutdown = nullptr;
  obs::log_info("dispatcher stopped");
  return exit_code;
}

}  // namespace dispatcher::app
