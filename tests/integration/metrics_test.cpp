// /metrics after real deliveries (issue 11): the whole output passes `promtool check
// metrics`, and each backlog gauge and the delivery latency read what a known situation
// makes them: entries added while the service is stopped are the group's lag, entries read
// and not acknowledged its pending, a delivery waiting for its retry is due, and the
// latency counts from the stream entry's time.
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "dispatcher/common/time.hpp"
#include "dispatcher/delivery/backlog.hpp"
#include "dispatcher/obs/metrics.hpp"
#include "dispatcher/redis/connection.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_receiver.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

double line_value(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1.0 : std::atof(text.c_str() + at + series.size() + 2);
}

// promtool's verdict on `text`: its exit code and what it printed.
shell_result promtool_check(const std::string& text) {
  char path[] = "/tmp/dispatcher-metrics-XXXXXX";
  const int fd = ::mkstemp(path);
  ::close(fd);
  std::ofstream(path) << text;
  auto result = run_shell(std::string("promtool check metrics < ") + path + " 2>&1");
  ::unlink(path);
  return result;
}

// Runs the sampler once against `redis`, as the scheduler does each second.
void sample(const redis_server& redis, std::vector<std::string> endpoint_ids) {
  boost::asio::io_context io;
  redis::connection_options o;
  o.port = redis.port();
  auto conn = std::make_shared<redis::connection>(io.get_executor(), o);
  boost::asio::co_spawn(io, conn->async_run(), boost::asio::detached);
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        if (co_await conn->async_wait_connected(5s)) {
          co_await delivery::async_sample_backlog(*conn, redis::keyspace("lifecycle:events"),
                                                  "dispatcher", std::move(endpoint_ids));
        }
        conn->stop();
      },
      boost::asio::detached);
  io.run();
}

TEST(BacklogGauges, lag_pending_and_due_read_a_known_redis) {
  redis_server redis;
  auto& m = obs::global_metrics();
  redis.cmd({"XGROUP", "CREATE", "lifecycle:events", "dispatcher", "0", "MKSTREAM"});
  for (int i = 0; i < 5; ++i) redis.cmd({"XADD", "lifecycle:events", "*", "payload", "{}"});
  redis.cmd({"ZADD", "{lifecycle:events}:q:due:ep_a", "1", "dlv_1", "2", "dlv_2"});
  redis.cmd({"ZADD", "{lifecycle:events}:q:due:ep_b", "1", "dlv_3"});
  sample(redis, {"ep_a", "ep_b"});
  EXPECT_EQ(m.stream_lag.get(), 5);
  EXPECT_EQ(m.stream_pending.get(), 0);
  EXPECT_EQ(m.deliveries_due.get(), 3);

  // Two read and not acknowledged: they leave the lag for pending.
  redis.cmd({"XREADGROUP", "GROUP", "dispatcher", "c1", "COUNT", "2", "STREAMS", "lifecycle:events",
             ">"});
  redis.cmd({"ZREM", "{lifecycle:events}:q:due:ep_a", "dlv_1"});
  sample(redis, {"ep_a", "ep_b"});
  EXPECT_EQ(m.stream_lag.get(), 3);
  EXPECT_EQ(m.stream_pending.get(), 2);
  EXPECT_EQ(m.deliveries_due.get(), 2);
}

// Redis restarted from its AOF does not know how many entries the group has read (the
// AOF logs XREADGROUP as XCLAIM, which carries no count): XINFO GROUPS answers lag nil
// until the group reads the stream's last entry. The gauge then says unknown (NaN), not
// the last value sampled nor 0, while entries wait.
TEST(BacklogGauges, after_redis_restarts_from_its_aof_the_lag_is_unknown_until_redis_knows) {
  redis_server redis(true);
  auto& m = obs::global_metrics();
  redis.cmd({"XGROUP", "CREATE", "lifecycle:events", "dispatcher", "0", "MKSTREAM"});
  for (int i = 0; i < 5; ++i) redis.cmd({"XADD", "lifecycle:events", "*", "payload", "{}"});
  redis.cmd({"XREADGROUP", "GROUP", "dispatcher", "c1", "COUNT", "2", "STREAMS", "lifecycle:events",
             ">"});
  sample(redis, {});
  EXPECT_EQ(m.stream_lag.get(), 3);

  redis.kill_and_restart();
  for (int i = 0; i < 2; ++i) redis.cmd({"XADD", "lifecycle:events", "*", "payload", "{}"});
  ASSERT_NE(redis.cmd({"XINFO", "GROUPS", "lifecycle:events"}).find("lag\n(nil)"),
            std::string::npos)
      << "Redis knows the lag after the restart; this test no longer tests anything";
  sample(redis, {});
  EXPECT_EQ(m.stream_lag.get(), obs::gauge::unknown);  // 5 wait; it showed 3 before
  EXPECT_EQ(m.stream_pending.get(), 2);
  const std::string text = m.render();
  EXPECT_NE(text.find("\ndispatcher_stream_lag NaN\n"), std::string::npos) << text;
  const auto check = promtool_check(text);
  EXPECT_EQ(check.exit_code, 0) << check.out << "\n" << text;

  // Read up to the stream's end, the group's count is known again, and so is the lag.
  redis.cmd({"XREADGROUP", "GROUP", "dispatcher", "c1", "COUNT", "5", "STREAMS", "lifecycle:events",
             ">"});
  redis.cmd({"XADD", "lifecycle:events", "*", "payload", "{}"});
  sample(redis, {});
  EXPECT_EQ(m.stream_lag.get(), 1);
}

TEST(Metrics, after_real_deliveries_the_output_passes_promtool_and_reads_the_situation) {
  // The histogram counts from zero, even after other tests of this process delivered.
  auto& latency = obs::global_metrics().delivery_latency;
  for (auto& bucket : latency.buckets) bucket = 0;
  latency.count = 0;
  latency.sum_micros = 0;
  redis_server redis;
  auto s = test_settings(redis.url());
  s.retry_schedule = {std::chrono::hours(1)};  // the failing delivery waits, due
  test_receiver ok, failing;
  failing.always(reply{.status = 500});
  std::string ep_ok;
  {
    in_process_dispatcher service(s);
    ep_ok = service
                .api("POST", "/v1/endpoints",
                     json{{"url", ok.url()}, {"events", {"account.connection.created"}}}.dump())
                .json()["id"];
    service.api("POST", "/v1/endpoints",
                json{{"url", failing.url()}, {"events", {"account.connection.updated"}}}.dump());
    ASSERT_EQ(service.stop(), 0);
  }

  // Stopped: three entries wait, the first dated 100 s ago, so its latency counts from then.
  const auto past = unix_now_ms() - 100'000;
  redis.cmd({"XADD", "lifecycle:events", std::to_string(past) + "-0", "payload",
             event_json("account.connection.created", consumer_a, connection_1, "active", 1)});
  redis.cmd({"XADD", "lifecycle:events", "*", "payload",
             event_json("account.connection.created", consumer_a, connection_1, "active", 2)});
  redis.cmd({"XADD", "lifecycle:events", "*", "payload",
             event_json("account.connection.updated", consumer_a, connection_1, "inactive", 3)});
  sample(redis, {});
  EXPECT_EQ(obs::global_metrics().stream_lag.get(), 3);

  in_process_dispatcher service(s);
  ASSERT_TRUE(ok.wait_for_requests(2, 10s));
  ASSERT_TRUE(failing.wait_for_requests(1, 10s));
  std::string text;
  ASSERT_TRUE(eventually(
      [&] {
        text = http_request(service.port(), "GET", "/metrics", {}, {}).body;
        return line_value(text, "dispatcher_stream_lag") == 0 &&
               line_value(text, "dispatcher_stream_pending") == 0 &&
               line_value(text, "dispatcher_deliveries_due") == 1 &&
               line_value(text, "dispatcher_delivery_latency_seconds_count") == 2;
      },
      10s))
      << text;
  // The entry dated 100 s back lands above 60 s, however slow the start; the other within
  // seconds (counting from the delivery's creation would put both below 60 s).
  EXPECT_EQ(line_value(text, "dispatcher_delivery_latency_seconds_bucket{le=\"60\"}"), 1) << text;
  EXPECT_EQ(line_value(text, "dispatcher_delivery_latency_seconds_bucket{le=\"300\"}"), 2) << text;
  EXPECT_GE(line_value(text, "dispatcher_delivery_latency_seconds_sum"), 100.0) << text;

  const auto check = promtool_check(text);
  EXPECT_EQ(check.exit_code, 0) << check.out << "\n" << text;
}

TEST(Metrics, promtool_fails_a_broken_exposition) {
  // The check above can fail: a family whose samples do not match its TYPE is refused.
  const auto check = promtool_check(
      "# HELP dispatcher_x_total Things.\n# TYPE dispatcher_x_total counter\n"
      "dispatcher_x_total{le=\"1\"} 1\ndispatcher_x_total 1\ndispatcher_x_total 2\n");
  EXPECT_NE(check.exit_code, 0) << check.out;
}

}  // namespace
}  // namespace dispatcher::testing
