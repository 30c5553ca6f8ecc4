// What `dispatcher serve` says about its settings when it starts (issue 14, CONTRACT §7):
// a warning naming each DISPATCHER_* variable it does not know, with the setting it was
// probably meant to be, and one line with the settings in effect in which no secret
// shows. The real binary runs with its log in a file, and a Redis that needs a password,
// so the Redis URL carries a secret too.
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"

namespace dispatcher::testing {
namespace {

using json = nlohmann::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

struct served {
  std::string proc;  // /proc/PID/<file> of the running service
  std::string log;   // its whole log, once it stopped
};

/// Starts `serve` against `redis` with an admin token (and `env`), reads /proc/PID/<file>
/// while it runs, stops it and returns that with its log.
served serve_and_read(redis_server& redis, const std::string& file,
                      std::map<std::string, std::string> env = {}) {
  const std::string log_path =
      "/tmp/dispatcher-startup-" + file + "-" + std::to_string(::getpid()) + ".jsonl";
  env["DISPATCHER_REDIS_URL"] = redis.url();
  env["DISPATCHER_ADMIN_TOKEN"] = "admin-token-4b1e8d2c6a";
  served out;
  {
    dispatcher_process service(env, log_path);
    out.proc = read_file("/proc/" + std::to_string(service.pid()) + "/" + file);
    EXPECT_EQ(service.terminate(), 0);
  }
  out.log = read_file(log_path);
  ::unlink(log_path.c_str());
  return out;
}

TEST(StartupLog, a_misspelt_setting_is_warned_about_and_no_secret_is_logged) {
  redis_server redis;
  const std::string redis_password = "redis-password-7f3a9c";
  ASSERT_EQ(redis.cmd({"CONFIG", "SET", "requirepass", redis_password}), "OK");
  const std::string admin = "admin-token-4b1e8d2c6a";
  const std::string metrics = "metrics-token-9d0c3b7e5f";
  const std::string key = "c2VjcmV0LWtleS0zMi1ieXRlcy1sb25nLS0tLS0tLS0=";  // 32 bytes
  const std::string log_path =
      "/tmp/dispatcher-startup-log-" + std::to_string(::getpid()) + ".jsonl";

  std::string log;
  {
    dispatcher_process service(
        {{"DISPATCHER_REDIS_URL",
          "redis://:" + redis_password + "@127.0.0.1:" + std::to_string(redis.port()) + "/0"},
         {"DISPATCHER_ADMIN_TOKEN", admin},
         {"DISPATCHER_METRICS_TOKEN", metrics},
         {"DISPATCHER_ENCRYPTION_KEY", key},
         {"DISPATCHER_LOG_LEVEL", "info"},
         {"DISPATCHER_ALLOW_PRIVATE_TARGET", "true"},
         {"DISPATCHER_SHUTDOWN_TIMOUT", "1s"}},
        log_path);
    // It came up (ready, so the password worked) and the token guards the API.
    EXPECT_EQ(http_request(service.port(), "GET", "/v1/endpoints", {}, admin).status, 200);
    EXPECT_EQ(service.terminate(), 0);
    log = read_file(log_path);
    ::unlink(log_path.c_str());
  }

  const auto lines = json_lines(log);
  std::vector<json> warnings;
  const json* settings = nullptr;
  for (const auto& line : lines) {
    if (line.value("msg", "").starts_with("unknown setting")) warnings.push_back(line);
    if (line.value("msg", "") == "settings in effect") settings = &line;
  }
  ASSERT_EQ(warnings.size(), 2u) << log;
  for (const auto& w : warnings) EXPECT_EQ(w["level"], "warn");
  EXPECT_EQ(warnings[0]["msg"],
            "unknown setting DISPATCHER_ALLOW_PRIVATE_TARGET; did you mean "
            "DISPATCHER_ALLOW_PRIVATE_TARGETS?");
  EXPECT_EQ(warnings[0]["setting"], "DISPATCHER_ALLOW_PRIVATE_TARGET");
  EXPECT_EQ(warnings[1]["msg"],
            "unknown setting DISPATCHER_SHUTDOWN_TIMOUT; did you mean "
            "DISPATCHER_SHUTDOWN_TIMEOUT?");

  ASSERT_NE(settings, nullptr) << log;
  EXPECT_EQ((*settings)["level"], "info");
  EXPECT_EQ((*settings)["redis_url"],
            "redis://:***@127.0.0.1:" + std::to_string(redis.port()) + "/0");
  EXPECT_EQ((*settings)["admin_token"], "***");
  EXPECT_EQ((*settings)["metrics_token"], "***");
  EXPECT_EQ((*settings)["encryption_key"], "***");
  EXPECT_EQ((*settings)["allow_private_targets"], "true");
  EXPECT_EQ((*settings)["log_level"], "info");

  // Nowhere in the whole log, whatever the line.
  for (const auto& secret : {redis_password, admin, metrics, key}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " appears in:\n" << log;
  }
}

// Each attempt in flight holds a socket and an origin keeps as many idle: serve raises the
// soft limit it inherits (often 1024) to the hard one, and says so.
TEST(StartupLog, serve_raises_its_open_files_limit_to_the_hard_one) {
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  // Linux bounds the hard limit (fs.nr_open); it is never unlimited there.
  if (original.rlim_max == RLIM_INFINITY || original.rlim_max <= 256) GTEST_SKIP() << "hard limit";
  redis_server redis;
  rlimit lowered = original;
  lowered.rlim_cur = 256;  // what the child inherits
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  const auto [limits, log] = serve_and_read(redis, "limits", {{"DISPATCHER_LOG_LEVEL", "info"}});
  ::setrlimit(RLIMIT_NOFILE, &original);
  const auto hard = std::to_string(original.rlim_max);
  std::istringstream in(limits);
  std::string soft_now;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("Max open files")) {
      std::istringstream fields(line.substr(std::string("Max open files").size()));
      fields >> soft_now;
    }
  }
  EXPECT_EQ(soft_now, hard) << limits;
  const json* reported = nullptr;
  const auto lines = json_lines(log);
  for (const auto& line : lines) {
    if (line.value("msg", "") == "open files limit") reported = &line;
  }
  ASSERT_NE(reported, nullptr) << log;
  EXPECT_EQ((*reported)["started_with"], "256");
  EXPECT_EQ((*reported)["limit"], hard);
  EXPECT_EQ(log.find("DISPATCHER_MAX_IN_FLIGHT"), std::string::npos) << log;
}

TEST(StartupLog, the_warning_comes_even_when_the_misspelling_stops_startup) {
  // DISPATCHER_ADMIN_TOKN is the reason there is no token: say so next to the refusal.
  const auto result = run_cli({"serve"}, {{"DISPATCHER_ADMIN_TOKN", "admin-token-4b1e8d2c6a"},
                                          {"DISPATCHER_LISTEN", "127.0.0.1:0"}});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("unknown setting DISPATCHER_ADMIN_TOKN; did you mean "
                            "DISPATCHER_ADMIN_TOKEN?"),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("serve needs an admin token"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("admin-token-4b1e8d2c6a"), std::string::npos) << result.err;

  const auto zero = run_cli({"serve"}, {{"DISPATCHER_ADMIN_TOKEN", "admin-token-4b1e8d2c6a"},
                                        {"DISPATCHER_REQUEST_TIMEOUT", "0s"}});
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_NE(zero.err.find("DISPATCHER_REQUEST_TIMEOUT: must be positive"), std::string::npos)
      << zero.err;
}

// The binary allocates through jemalloc (CMakeLists.txt: DISPATCHER_JEMALLOC), which the
// bench measured at about a tenth less CPU per delivery: a link that drops it (a linker
// that drops unused libraries, a changed target) would lose that without a word.
TEST(StartupLog, serve_allocates_with_jemalloc) {
  if (!DISPATCHER_LINKS_JEMALLOC) GTEST_SKIP() << "built without jemalloc (sanitizers)";
  redis_server redis;
  const auto maps = serve_and_read(redis, "maps").proc;
  EXPECT_NE(maps.find("libjemalloc"), std::string::npos) << maps;
}

}  // namespace
}  // namespace dispatcher::testing
