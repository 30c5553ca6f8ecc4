// Running the real dispatcher in tests: in-process on its own thread (the library as main
// uses it), or as a child process of the built binary (for kill -9 and multi-instance
// tests), plus a small blocking HTTP client for the admin API.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "dispatcher/app/service.hpp"
#include "dispatcher/config/settings.hpp"

namespace dispatcher::testing {

inline const std::string admin_token = "test-admin-token";
// The consumer and connection most tests publish for.
inline const std::string consumer_a = "11111111-1111-4111-8111-111111111111";
inline const std::string connection_1 = "33333333-3333-4333-8333-333333333333";

/// Connects a blocking TCP socket to 127.0.0.1:port; false when the connect fails.
bool connect_loopback(int fd, std::uint16_t port);

struct http_reply {
  int status = 0;
  std::string body;
  std::string content_type{};
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

/// One request on a fresh connection (Connection: close); status 0 when it failed. Each
/// answer is recorded for the check against schemas/openapi.yaml (api_exchanges.hpp).
http_reply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body = {}, const std::string& token = admin_token);

/// Settings fit for tests: private targets allowed, short timeouts and retries.
config::settings test_settings(const std::string& redis_url);

class in_process_dispatcher {
 public:
  explicit in_process_dispatcher(config::settings settings);
  ~in_process_dispatcher();
  std::uint16_t port() const { return port_; }
  http_reply api(const std::string& method, const std::string& target,
                 const std::string& body = {}) const {
    return http_request(port_, method, target, body);
  }
  /// Graceful stop; returns run()'s exit code.
  int stop();

 private:
  std::unique_ptr<app::service> service_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  int exit_code_ = -1;
};

/// The dispatcher binary as a child process, configured by environment variables.
class dispatcher_process {
 public:
  /// With a log_path, the child's standard error (its log) goes to that file.
  explicit dispatcher_process(std::map<std::string, std::string> env,
                              const std::string& log_path = {});
  ~dispatcher_process();
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  void kill9();
  /// SIGTERM and wait; returns the exit status.
  int terminate();

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

struct cli_result {
  int exit_code = -1;
  std::string out;  // standard output
  std::string err;  // standard error
};

/// Runs the dispatcher binary with these arguments, only these environment variables
/// (plus PATH) and `input` on its standard input, and waits for it to exit.
cli_result run_cli(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env, const std::string& input = {});

/// Runs `command` with /bin/sh and waits for it: its exit code (-1 when it did not exit
/// normally) and what it wrote to standard output and, with `2>&1`, standard error.
struct shell_result {
  int exit_code = -1;
  std::string out;
};
shell_result run_shell(const std::string& command);

/// Polls until pred() or the timeout; returns pred()'s last value.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// A valid event payload for the given type, consumer and connection.
std::string event_json(const std::string& type, const std::string& consumerid,
                       const std::string& connectionid, const std::string& status,
                       long long created, const std::string& id = {});

}  // namespace dispatcher::testing
