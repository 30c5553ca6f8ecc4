// A private redis-server for one test: a free loopback port, a temporary directory, no
// persistence unless asked. Tests get a real Redis, never a mock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dispatcher::testing {

class redis_server {
 public:
  /// Starts and waits until it answers PING; throws on failure.
  explicit redis_server(bool append_only = false);
  ~redis_server();

  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

  /// Runs one command with redis-cli semantics through hiredis; returns the reply as text
  /// (arrays flattened, one element a line), "(nil)" for nil, "ERR ..." for errors.
  std::string cmd(const std::vector<std::string>& args) const;

  /// SIGKILL the server (nothing is saved) and start it again on the same port.
  void kill_and_restart();
  void stop();

 private:
  void start();
  std::uint16_t port_ = 0;
  std::string dir_;
  bool append_only_ = false;
  pid_t pid_ = -1;
};

/// A TCP port on 127.0.0.1 that nothing listens on right now.
std::uint16_t free_port();

}  // namespace dispatcher::testing
