#include "tests/support/harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "tests/support/api_exchanges.hpp"
#include "tests/support/redis_server.hpp"

namespace dispatcher::testing {

bool connect_loopback(int fd, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

namespace {

/// The value of a header in a raw response head, matched without regard to case.
std::string header_value(const std::string& head, const std::string& lower_name) {
  for (std::size_t at = head.find("\r\n"); at != std::string::npos;) {
    const auto end = head.find("\r\n", at + 2);
    const auto line = head.substr(at + 2, end == std::string::npos ? end : end - at - 2);
    const auto colon = line.find(':');
    if (colon == lower_name.size()) {
      bool same = true;
      for (std::size_t i = 0; i < colon; ++i) {
        same = same && std::tolower(static_cast<unsigned char>(line[i])) == lower_name[i];
      }
      if (same) {
        auto value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        return value;
      }
    }
    at = end;
  }
  return {};
}

}  // namespace

http_reply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body, const std::string& token) {
  http_reply out;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (!connect_loopback(fd, port)) {
    ::close(fd);
    return out;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH") {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  for (std::size_t sent = 0; sent < req.size();) {
    const auto n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[65536];
  for (;;) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (raw.size() < 12) return out;
  out.status = std::atoi(raw.c_str() + 9);
  const auto header_end = raw.find("\r\n\r\n");
  if (header_end != std::string::npos) out.body = raw.substr(header_end + 4);
  out.content_type = header_value(raw.substr(0, header_end), "content-type");
  record_api_exchange(method, target, out.status, out.content_type, out.body);
  return out;
}

config::settings test_settings(const std::string& redis_url) {
  config::settings s;
  s.redis_url = redis_url;
  s.listen = "127.0.0.1:0";
  s.admin_token = admin_token;
  s.allow_private_targets = true;
  s.request_timeout = std::chrono::milliseconds(2000);
  s.retry_schedule = {std::chrono::milliseconds(100), std::chrono::milliseconds(100),
                      std::chrono::milliseconds(100)};
  s.poll_interval = std::chrono::milliseconds(20);
  // Tests of other behaviour fail many attempts in a row on purpose; the circuit breaker
  // has tests of its own (failing_endpoints_test.cpp).
  s.breaker_failures = 1'000'000;
  s.shutdown_timeout = std::chrono::milliseconds(2000);
  s.consumer = "test-" + std::to_string(::getpid()) + "-" + std::to_string(free_port());
  s.log_level = "warn";
  return s;
}

in_process_dispatcher::in_process_dispatcher(config::settings settings)
    : service_(std::make_unique<app::service>(std::move(settings))) {
  thread_ = std::thread([this] { exit_code_ = service_->run(false); });
  port_ = service_->wait_until_listening();
  if (port_ == 0) {
    thread_.join();
    throw std::runtime_error("dispatcher did not start");
  }
  if (!eventually([&] { return http_request(port_, "GET", "/readyz", {}, {}).status == 200; })) {
    throw std::runtime_error("dispatcher did not become ready");
  }
}

in_process_dispatcher::~in_process_dispatcher() {
  stop();
}

int in_process_dispatcher::stop() {
  if (thread_.joinable()) {
    service_->stop();
    thread_.join();
  }
  return exit_code_;
}

dispatcher_process::dispatcher_process(std::map<std::string, std::string> env,
                                       const std::string& log_path) {
  port_ = free_port();
  env["DISPATCHER_LISTEN"] = "127.0.0.1:" + std::to_string(port_);
  env.try_emplace("DISPATCHER_ADMIN_TOKEN", admin_token);
  env.try_emplace("DISPATCHER_ALLOW_PRIVATE_TARGETS", "true");
  env.try_emplace("DISPATCHER_LOG_LEVEL", "warn");
  pid_ = ::fork();
  if (pid_ == 0) {
    if (!log_path.empty()) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0) ::_exit(126);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    ::execl(DISPATCHER_BINARY, DISPATCHER_BINARY, "serve", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // 30 s: a sanitizer build beside another test on two loaded cores has needed more than 10.
  const bool up =
      eventually([&] { return http_request(port_, "GET", "/readyz", {}, {}).status == 200; },
                 std::chrono::seconds(30));
  if (!up) {
    // No destructor runs for a constructor that throws: a child left running would keep
    // the test's output pipe open, and ctest would wait for it until its own timeout.
    kill9();
    throw std::runtime_error("dispatcher process did not start");
  }
}

dispatcher_process::~dispatcher_process() {
  if (pid_ > 0) kill9();
}

void dispatcher_process::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int dispatcher_process::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

shell_result run_shell(const std::string& command) {
  shell_result result;
  std::FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return result;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, p)) result.out += buffer;
  const int status = ::pclose(p);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

cli_result run_cli(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env, const std::string& input) {
  // Output goes to files rather than pipes, so a chatty child can never block on a full
  // pipe while the test waits for it.
  char out_path[] = "/tmp/dispatcher-cli-out-XXXXXX";
  char err_path[] = "/tmp/dispatcher-cli-err-XXXXXX";
  char in_path[] = "/tmp/dispatcher-cli-in-XXXXXX";
  const int out_fd = ::mkstemp(out_path), err_fd = ::mkstemp(err_path), in_fd = ::mkstemp(in_path);
  if (out_fd < 0 || err_fd < 0 || in_fd < 0) throw std::runtime_error("mkstemp failed");
  if (::write(in_fd, input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
    throw std::runtime_error("cannot write the child's input");
  }
  ::lseek(in_fd, 0, SEEK_SET);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::clearenv();
    ::setenv("PATH", "/usr/bin:/bin", 1);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv{const_cast<char*>(DISPATCHER_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(DISPATCHER_BINARY, argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  auto slurp = [](int fd, const char* path) {
    std::string text;
    ::lseek(fd, 0, SEEK_SET);
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, n);
    ::close(fd);
    ::unlink(path);
    return text;
  };
  cli_result result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = slurp(out_fd, out_path);
  result.err = slurp(err_fd, err_path);
  ::close(in_fd);
  ::unlink(in_path);
  return result;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

std::string event_json(const std::string& type, const std::string& consumerid,
                       const std::string& connectionid, const std::string& status,
                       long long created, const std::string& id) {
  nlohmann::json j = {{"event", type},
                      {"accountid", "7f9c2c1e-8a3b-4c5d-9e6f-0a1b2c3d4e5f"},
                      {"consumerid", consumerid},
                      {"created", created},
                      {"name", "Odoo"}};
  if (!connectionid.empty()) j["connectionid"] = connectionid;
  if (!status.empty()) j["status"] = status;
  if (!id.empty()) j["id"] = id;
  return j.dump();
}

}  // namespace dispatcher::testing
