// What a new user does (issue 11): `scripts/run` keeps its data in the checkout's .data/
// (here a temporary one through DATA_DIR), so a stop and a start keep the
// endpoints, the history and the token; and the README's session block, taken from the
// README as written, runs and succeeds after `scripts/run` in a folder laid out like a
// checkout (build/release/dispatcher is the binary under test).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A folder laid out like a checkout, removed at the end.
struct checkout_dir {
  fs::path root;
  checkout_dir() {
    char pattern[] = "/tmp/dispatcher-session-XXXXXX";
    root = ::mkdtemp(pattern);
    fs::create_directories(root / "build/release");
    fs::create_symlink(DISPATCHER_BINARY, root / "build/release/dispatcher");
  }
  ~checkout_dir() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  fs::path data() const { return root / ".data"; }
};

// scripts/run in a process group of its own, with its data in `data`.
class run_script {
 public:
  run_script(const fs::path& data, std::uint16_t port, const fs::path& log)
      : port_(port), log_(log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      for (const char* name :
           {"DISPATCHER_REDIS_URL", "DISPATCHER_ADMIN_TOKEN", "DISPATCHER_URL"}) {
        ::unsetenv(name);
      }
      ::setenv("BINARY", DISPATCHER_BINARY, 1);
      ::setenv("DATA_DIR", data.c_str(), 1);
      ::setenv("REDIS_PORT", std::to_string(free_port()).c_str(), 1);  // 6379 is the user's
      ::setenv("DISPATCHER_LISTEN", ("127.0.0.1:" + std::to_string(port)).c_str(), 1);
      ::setenv("DISPATCHER_ALLOW_PRIVATE_TARGETS", "true", 1);
      const std::string script = std::string(DISPATCHER_SOURCE_DIR) + "/scripts/run";
      ::execl(script.c_str(), script.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
  }
  ~run_script() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const {
    return eventually([&] { return http_request(port_, "GET", "/readyz", {}, {}).status == 200; },
                      30s);
  }
  /// SIGTERM and wait; the exit status.
  int stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_;
  fs::path log_;
};

std::string token_of(const fs::path& data) {
  std::string token = slurp(data / "admin-token");
  while (!token.empty() && token.back() == '\n') token.pop_back();
  return token;
}

TEST(RunScript, keeps_endpoints_history_and_token_across_a_restart) {
  checkout_dir dir;
  const auto port = free_port();
  const fs::path log = dir.root / "run.log";
  std::string token, endpoint_id, delivery_id;
  {
    run_script run(dir.data(), port, log);
    ASSERT_TRUE(run.ready()) << slurp(log);
    token = token_of(dir.data());
    ASSERT_EQ(token.size(), 48u) << slurp(log);
    EXPECT_NE(slurp(log).find("admin token: " + token), std::string::npos);
    // DATA_DIR is the script's, not a setting serve would warn about.
    EXPECT_EQ(slurp(log).find("unknown setting"), std::string::npos) << slurp(log);
    const std::string env = slurp(dir.data() / "env");
    EXPECT_NE(env.find("export DISPATCHER_ADMIN_TOKEN='" + token + "'"), std::string::npos);
    EXPECT_NE(env.find("export DISPATCHER_URL='http://127.0.0.1:" + std::to_string(port) + "'"),
              std::string::npos)
        << env;
    // 6379 when it was free, another port otherwise: the export names the one Redis took.
    std::smatch started;
    const std::string run_log = slurp(log);
    ASSERT_TRUE(std::regex_search(run_log, started,
                                  std::regex("started redis-server on 127\\.0\\.0\\.1:([0-9]+)")))
        << run_log;
    EXPECT_NE(
        env.find("export DISPATCHER_REDIS_URL='redis://127.0.0.1:" + started[1].str() + "/0'"),
        std::string::npos)
        << env;

    // An endpoint nothing listens on: the attempt fails and stays in the history.
    const auto closed = free_port();
    const auto created =
        http_request(port, "POST", "/v1/endpoints",
                     R"({"url":"http://127.0.0.1:)" + std::to_string(closed) + R"(/hook"})", token);
    ASSERT_EQ(created.status, 201) << created.body;
    endpoint_id = created.json()["id"];
    const auto published = http_request(port, "POST", "/v1/events",
                                        event_json("account.connection.created", consumer_a,
                                                   connection_1, "active", 1700000000, "evt_kept"),
                                        token);
    ASSERT_EQ(published.status, 202) << published.body;
    ASSERT_TRUE(eventually(
        [&] {
          const auto list = http_request(port, "GET", "/v1/deliveries", {}, token).json();
          if (!list.is_object() || list["data"].empty()) return false;
          delivery_id = list["data"][0]["id"];
          return list["data"][0]["attempt_count"].get<int>() >= 1;
        },
        20s));
    const int status = run.stop();
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 143) << status << slurp(log);
  }
  EXPECT_TRUE(fs::exists(dir.data() / "redis")) << "the Redis data was removed on exit";

  run_script again(dir.data(), port, log);
  ASSERT_TRUE(again.ready()) << slurp(log);
  EXPECT_EQ(token_of(dir.data()), token);
  const auto endpoint = http_request(port, "GET", "/v1/endpoints/" + endpoint_id, {}, token);
  EXPECT_EQ(endpoint.status, 200) << endpoint.body;
  const auto delivery = http_request(port, "GET", "/v1/deliveries/" + delivery_id, {}, token);
  ASSERT_EQ(delivery.status, 200) << delivery.body;
  EXPECT_GE(delivery.json()["attempts"].size(), 1u) << delivery.body;
  const auto connection = http_request(port, "GET", "/v1/connections/" + connection_1, {}, token);
  ASSERT_EQ(connection.status, 200) << connection.body;
  EXPECT_EQ(connection.json()["status"], "active");
  again.stop();
}

// The lines of the ```sh block after the "<!-- readme-session -->" marker.
std::string readme_session_block() {
  const std::string readme = slurp(fs::path(DISPATCHER_SOURCE_DIR) / "README.md");
  const auto marker = readme.find("<!-- readme-session -->");
  if (marker == std::string::npos) return {};
  const auto open = readme.find("```sh\n", marker);
  const auto close = readme.find("\n```", open);
  if (open == std::string::npos || close == std::string::npos) return {};
  return readme.substr(open + 6, close - open - 5);
}

TEST(Readme, the_session_block_runs_verbatim_after_scripts_run) {
  const std::string block = readme_session_block();
  ASSERT_FALSE(block.empty()) << "README.md has no <!-- readme-session --> ```sh block";
  checkout_dir dir;
  std::ofstream(dir.root / "session.sh") << block;
  const auto port = free_port();
  const fs::path log = dir.root / "run.log";
  run_script run(dir.data(), port, log);
  ASSERT_TRUE(run.ready()) << slurp(log);

  // As a user's shell would run it, in the checkout, with nothing of ours in its
  // environment; the first failing command fails the test.
  const std::string command = "cd '" + dir.root.string() +
                              "' && env -i PATH=\"$PATH\" HOME=\"$HOME\" timeout 60 bash -e -o "
                              "pipefail session.sh >session.out 2>&1";
  const int status = std::system(command.c_str());
  const std::string out = slurp(dir.root / "session.out");
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  EXPECT_TRUE(std::regex_search(
      out, std::regex("evt_[0-9]+-[0-9]+ account\\.connection\\.created verified -> 204")))
      << out;
  EXPECT_NE(out.find("\"status\":\"active\""), std::string::npos) << out;
  run.stop();
}

}  // namespace
}  // namespace dispatcher::testing
