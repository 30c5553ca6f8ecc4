// scripts/run stops everything it started (issue 14): the script runs with the built binary
// (BINARY=..., so no setup or build step) in a process group of its own; once it is up, a
// signal to the script alone must leave the admin port and Redis's port free and no process
// of that group behind.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;

class RunScript : public ::testing::TestWithParam<int> {};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whether something accepts TCP connections on this loopback port.
bool port_taken(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool taken = connect_loopback(fd, port);
  ::close(fd);
  return taken;
}

bool group_alive(pid_t group) {
  return ::kill(-group, 0) == 0 || errno != ESRCH;
}

TEST_P(RunScript, a_signal_to_the_script_stops_the_service_and_redis) {
  const int signal = GetParam();
  const std::uint16_t port = free_port();
  char log_path[] = "/tmp/dispatcher-run-XXXXXX";
  const int log_fd = ::mkstemp(log_path);
  ASSERT_GE(log_fd, 0);

  char data_dir[] = "/tmp/dispatcher-run-data-XXXXXX";
  ASSERT_NE(::mkdtemp(data_dir), nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::setenv("DATA_DIR", data_dir, 1);  // not the checkout's .data
    // Not 6379: parallel tests would take it from each other between stop and check.
    ::setenv("REDIS_PORT", std::to_string(free_port()).c_str(), 1);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::unsetenv("DISPATCHER_REDIS_URL");
    ::setenv("BINARY", DISPATCHER_BINARY, 1);
    ::setenv("DISPATCHER_LISTEN", ("127.0.0.1:" + std::to_string(port)).c_str(), 1);
    ::setenv("DISPATCHER_ADMIN_TOKEN", admin_token.c_str(), 1);
    const std::string script = std::string(DISPATCHER_SOURCE_DIR) + "/scripts/run";
    ::execl(script.c_str(), script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so the group exists before either side goes on
  ::close(log_fd);
  const auto cleanup = [&] {
    if (group_alive(pid)) ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, WNOHANG);
    ::unlink(log_path);
    std::system(("rm -rf '" + std::string(data_dir) + "'").c_str());
  };

  const bool ready =
      eventually([&] { return http_request(port, "GET", "/readyz", {}, {}).status == 200; }, 20s);
  if (!ready) {
    std::string members;  // what of its process group is still there
    const std::string ps =
        "ps -eo pid,pgid,stat,wchan:20,args | awk '$2 == " + std::to_string(pid) + "'";
    if (std::FILE* out = ::popen(ps.c_str(), "r")) {
      char buffer[512];
      while (std::fgets(buffer, sizeof buffer, out)) members += buffer;
      ::pclose(out);
    }
    int early = -1;
    if (::waitpid(pid, &early, WNOHANG) != pid) early = -1;
    ADD_FAILURE() << "scripts/run did not start the service (wait status " << early << "):\n"
                  << slurp(log_path) << members;
    cleanup();
    return;
  }
  std::smatch m;
  const std::string log = slurp(log_path);
  const std::regex redis_line("started redis-server on 127\\.0\\.0\\.1:([0-9]+)");
  ASSERT_TRUE(std::regex_search(log, m, redis_line)) << log;
  const auto redis_port = static_cast<std::uint16_t>(std::stoi(m[1]));

  ASSERT_EQ(::kill(pid, signal), 0);  // the script only, as a supervisor would
  int status = 0;
  const bool exited = eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 20s);
  ASSERT_TRUE(exited) << "scripts/run did not exit:\n" << slurp(log_path);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 128 + signal);

  // Nothing it started is left: not in its group, not on either port.
  EXPECT_FALSE(group_alive(pid)) << "a process of scripts/run's group is still running";
  EXPECT_FALSE(port_taken(port)) << "the admin port is still taken";
  EXPECT_FALSE(port_taken(redis_port)) << "Redis's port is still taken";
  cleanup();
}

INSTANTIATE_TEST_SUITE_P(Signals, RunScript, ::testing::Values(SIGTERM, SIGINT, SIGHUP),
                         [](const auto& info) {
                           return std::string(info.param == SIGTERM  ? "SIGTERM"
                                              : info.param == SIGINT ? "SIGINT"
                                                                     : "SIGHUP");
                         });

}  // namespace
}  // namespace dispatcher::testing
