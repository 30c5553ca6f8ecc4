// A scriptable webhook receiver for integration tests: a real HTTP/1.1 (or HTTPS) server on
// 127.0.0.1 with its own io_context and thread, so tests can drive the dispatcher from
// their own thread and check what arrived. It records every request and answers by a
// script (status, body, headers, delay, or hanging up) so faults are injected, not hoped
// for. Beast stays in the .cpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dispatcher::testing {

using header = std::pair<std::string, std::string>;

struct recorded_request {
  std::string method;
  std::string target;                          // path and query as sent
  std::map<std::string, std::string> headers;  // lowercase names; repeated ones joined by ", "
  std::string body{};
  std::chrono::system_clock::time_point received_at;
  std::chrono::steady_clock::time_point received_steady;
  std::size_t connection = 0;   // 1-based number of the connection it arrived on
  std::string tls_server_name;  // SNI sent by the client; empty for plain HTTP or no SNI
};

struct reply {
  int status = 204;
  std::string body{};
  std::vector<header> headers{};
  std::chrono::milliseconds delay{0};   // wait this long before answering
  bool close_without_response = false;  // hang up instead of answering
  /// Answer normally (keep-alive) and then close the connection at once, as a server does
  /// when its idle timeout fires: the client only finds out when it reuses the connection.
  bool close_after_response = false;
};

/// Called on the receiver's thread for every request; index counts from 0 per receiver.
using responder = std::function<reply(const recorded_request&, std::size_t index)>;

/// PEM files for an HTTPS receiver.
struct tls_files {
  std::string cert_file;  // certificate chain
  std::string key_file;
};

class test_receiver {
 public:
  /// Plain HTTP on 127.0.0.1, an ephemeral port; answers 204 until told otherwise.
  test_receiver();
  /// HTTPS with the given certificate.
  explicit test_receiver(const tls_files& tls);
  ~test_receiver();
  test_receiver(const test_receiver&) = delete;
  test_receiver& operator=(const test_receiver&) = delete;

  std::uint16_t port() const;
  /// "http://127.0.0.1:<port><path>" (https for a TLS receiver).
  std::string url(std::string_view path = "/") const;

  void set_responder(responder script);
  /// Shorthand for a responder that always gives the same reply.
  void always(reply answer);

  std::vector<recorded_request> requests() const;
  /// Blocks until at least n requests arrived; false on timeout.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
  /// TCP connections accepted so far (a reused keep-alive connection counts once).
  std::size_t connections() const;

  /// Stops serving and closes every socket; idempotent, called by the destructor.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dispatcher::testing
