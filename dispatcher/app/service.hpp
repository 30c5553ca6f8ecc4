// The running service: wires Redis connections, the endpoint registry, the stream reader,
// the scheduler and the admin server onto one io_context, and shuts them down in order on
// SIGTERM/SIGINT or stop(): stop reading the stream, let in-flight attempts finish until
// the shutdown deadline, hand the rest back, close the admin server, exit 0.
#pragma once

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>

#include "dispatcher/config/settings.hpp"

namespace dispatcher::app {

class service {
 public:
  explicit service(config::settings settings);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// Runs on the calling thread until stopped; 0 after a clean shutdown, 1 when the
  /// service could not start (the reason is logged).
  int run(bool handle_signals = true);

  /// Starts the graceful shutdown; callable from any thread, idempotent.
  void stop();

  /// Blocks until the admin server listens and returns its port (0 if startup failed).
  std::uint16_t wait_until_listening();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dispatcher::app
