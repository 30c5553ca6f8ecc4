// What the operator commands say when a server they talk to fails them. CONTRACT §7: a
// command that talks to Redis or the admin API gives up after its --timeout with exit code 1
// and a sentence saying what did not answer. The I/O code (app/publish.cpp,
// app/admin_client.cpp) only classifies an error into a step and a kind; the words are
// chosen here, as pure functions, so each sentence is tested without a socket and both
// commands say the same thing the same way.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace dispatcher::app {

/// The step of the exchange with a server that failed.
enum class failed_step {
  lookup,   // looking up the host name
  connect,  // the TCP connect
  command,  // a Redis command, or the AUTH/SELECT handshake
  request,  // writing an HTTP request
  answer,   // reading the HTTP answer
};

/// How the step failed, as the I/O code classified its error.
enum class failure_kind {
  timed_out,     // the command's deadline passed first
  closed,        // the server closed or reset the connection
  unknown_host,  // lookup: the name has no address
  other,         // anything else; the detail says what
};

struct command_failure {
  failed_step step = failed_step::connect;
  failure_kind kind = failure_kind::other;
  std::string detail;  // the error's own message ("Connection refused") for kind::other
};

/// The sentence, without the "dispatcher <command>: " prefix: "Redis at 127.0.0.1:6379 did
/// not answer within 30s". `server` names the server ("the admin API at http://..."),
/// `host` the name that was looked up, `timeout` the --timeout.
std::string failure_sentence(const command_failure& failure, std::string_view server,
                             std::string_view host, std::chrono::milliseconds timeout);

/// "Redis at 127.0.0.1:6379", "Redis at [::1]:6379": the server of publish's sentences.
std::string redis_server_name(std::string_view host, unsigned port);

/// A refused AUTH or SELECT of the handshake: "Redis at ... refused the password",
/// "cannot select database 3 on Redis at ...".
std::string refused_handshake_sentence(std::string_view refused_command, std::string_view server,
                                       int db);

/// "Connection refused" -> "connection refused", to sit inside a sentence.
std::string lowercase_first(std::string text);

}  // namespace dispatcher::app
