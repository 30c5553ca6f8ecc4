// What an operator reading the service's log sees when deliveries fail and Redis goes away
// (issue 14, CONTRACT §7): every failed attempt at warn with the delivery, endpoint,
// attempt number and reason; a delivery that ends failed at error; a Redis reconnect. The
// service runs in-process with stderr pointed at a file, and the test reads the JSON lines.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "dispatcher/obs/log.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_receiver.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// Points stderr at a temporary file for its lifetime; lines() reads what was logged so far.
class stderr_capture {
 public:
  stderr_capture() {
    char path[] = "/tmp/dispatcher-log-XXXXXX";
    fd_ = ::mkstemp(path);
    path_ = path;
    saved_ = ::dup(STDERR_FILENO);
    ::dup2(fd_, STDERR_FILENO);
  }
  ~stderr_capture() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  std::vector<json> lines() const {
    std::ifstream in(path_);
    std::vector<json> out;
    for (std::string line; std::getline(in, line);) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_object()) out.push_back(std::move(j));
    }
    return out;
  }
  std::vector<json> with_msg(const std::string& msg) const {
    std::vector<json> out;
    for (auto& j : lines()) {
      if (j.value("msg", "") == msg) out.push_back(j);
    }
    return out;
  }

 private:
  int fd_ = -1;
  int saved_ = -1;
  std::string path_;
};

class FailureLog : public ::testing::Test {
 protected:
  void SetUp() override { obs::set_log_level("info"); }
  void TearDown() override {
    service_.reset();
    obs::set_log_level("info");
  }
  redis_server redis_;
  std::unique_ptr<in_process_dispatcher> service_;
};

TEST_F(FailureLog, each_failed_attempt_is_a_warn_and_the_failed_delivery_an_error) {
  stderr_capture log;
  service_ = std::make_unique<in_process_dispatcher>(test_settings(redis_.url()));
  test_receiver r;
  r.always(reply{.status = 503});
  auto ep = service_->api("POST", "/v1/endpoints", json{{"url", r.url()}}.dump()).json();
  const std::string ep_id = ep["id"];
  redis_.cmd({"XADD", "lifecycle:events", "*", "payload",
              event_json("account.connection.created", "11111111-1111-4111-8111-111111111111",
                         "33333333-3333-4333-8333-333333333333", "active", 1)});
  // test_settings retries three times: four attempts, then failed.
  ASSERT_TRUE(
      eventually([&] { return !log.with_msg("delivery failed; it stays replayable").empty(); }));
  const auto list = service_->api("GET", "/v1/deliveries").json();
  ASSERT_EQ(list["data"].size(), 1u);
  const std::string dlv = list["data"][0]["id"];

  const auto warns = log.with_msg("attempt failed");
  ASSERT_EQ(warns.size(), 4u);
  for (std::size_t i = 0; i < warns.size(); ++i) {
    EXPECT_EQ(warns[i]["level"], "warn");
    EXPECT_EQ(warns[i]["delivery"], dlv);
    EXPECT_EQ(warns[i]["endpoint"], ep_id);
    EXPECT_EQ(warns[i]["attempt"], std::to_string(i + 1));
    EXPECT_EQ(warns[i]["reason"], "receiver answered 503");
    EXPECT_EQ(warns[i]["status"], i + 1 < warns.size() ? "retrying" : "failed");
  }
  EXPECT_NE(warns[0]["next_attempt_at"], "none");
  EXPECT_EQ(warns[3]["next_attempt_at"], "none");
  const auto errors = log.with_msg("delivery failed; it stays replayable");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["level"], "error");
  EXPECT_EQ(errors[0]["delivery"], dlv);
  EXPECT_EQ(errors[0]["endpoint"], ep_id);
  EXPECT_EQ(errors[0]["attempts"], "4");
  EXPECT_EQ(errors[0]["reason"], "receiver answered 503");
}

TEST_F(FailureLog, a_redis_outage_logs_the_loss_and_the_reconnect) {
  stderr_capture log;
  service_ = std::make_unique<in_process_dispatcher>(test_settings(redis_.url()));
  EXPECT_TRUE(log.with_msg("redis reconnected").empty());
  redis_.kill_and_restart();
  ASSERT_TRUE(eventually([&] { return log.with_msg("redis reconnected").size() >= 2; }, 15s));
  EXPECT_FALSE(log.with_msg("redis connection lost, reconnecting").empty());
  for (const auto& line : log.with_msg("redis reconnected")) {
    EXPECT_EQ(line["level"], "info");
    EXPECT_FALSE(line.value("name", "").empty());
    EXPECT_FALSE(line.value("down_ms", "").empty());
  }
}

// The same failures in /metrics: per-endpoint attempt outcomes and the age of the oldest
// delivery still waiting.
TEST(FailureMetrics, attempts_carry_the_endpoint_and_the_oldest_waiting_delivery_ages) {
  redis_server redis;
  auto s = test_settings(redis.url());
  s.retry_schedule = {std::chrono::seconds(60)};
  s.metrics_endpoints = 1;
  in_process_dispatcher service(s);
  test_receiver failing, ok;
  failing.always(reply{.status = 500});
  const std::string ep_failing =
      service.api("POST", "/v1/endpoints", json{{"url", failing.url()}}.dump()).json()["id"];
  ASSERT_TRUE(
      eventually([&] { return service.api("GET", "/v1/endpoints/" + ep_failing).status == 200; }));
  redis.cmd({"XADD", "lifecycle:events", "*", "payload",
             event_json("account.connection.created", "11111111-1111-4111-8111-111111111111",
                        "33333333-3333-4333-8333-333333333333", "active", 1)});
  ASSERT_TRUE(failing.wait_for_requests(1, 10s));
  // No wait for the registry poll: an event matched at an older endpoints:version than
  // Redis has is refused as stale and matched again.
  service.api("POST", "/v1/endpoints", json{{"url", ok.url()}}.dump());
  redis.cmd({"XADD", "lifecycle:events", "*", "payload",
             event_json("account.connection.updated", "11111111-1111-4111-8111-111111111111",
                        "33333333-3333-4333-8333-333333333333", "inactive", 2)});
  ASSERT_TRUE(ok.wait_for_requests(1, 10s));

  // The first endpoint seen has its own series; with DISPATCHER_METRICS_ENDPOINTS=1 the
  // second is "other". The retrying delivery waits 60 s: its age shows and grows.
  const auto line_value = [](const std::string& text, const std::string& prefix) {
    const auto at = text.find("\n" + prefix + " ");
    return at == std::string::npos ? -1.0 : std::atof(text.c_str() + at + prefix.size() + 2);
  };
  std::string text;
  ASSERT_TRUE(eventually([&] {
    text = http_request(service.port(), "GET", "/metrics", {}, {}).body;
    return line_value(text, "dispatcher_oldest_due_seconds") >= 1.0 &&
           line_value(text, "dispatcher_attempts_total{endpoint=\"other\",outcome=\"success\"}") >=
               1;
  })) << text;
  EXPECT_EQ(line_value(text, "dispatcher_attempts_total{endpoint=\"" + ep_failing +
                                 "\",outcome=\"failure\"}"),
            2.0)
      << text;
  EXPECT_EQ(line_value(text, "dispatcher_attempts_total{endpoint=\"" + ep_failing +
                                 "\",outcome=\"success\"}"),
            0.0);
}

}  // namespace
}  // namespace dispatcher::testing
