// The sentences of failed exchanges; see command_failure.hpp.
#include "dispatcher/app/command_failure.hpp"

#include "dispatcher/config/duration.hpp"

namespace dispatcher::app {

std::string lowercase_first(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] + 32);
  return text;
}

std::string failure_sentence(const command_failure& failure, std::string_view server,
                             std::string_view host, std::chrono::milliseconds timeout) {
  const std::string who(server);
  const std::string within = "within " + config::format_duration(timeout);
  const std::string detail = lowercase_first(failure.detail);
  const bool timed_out = failure.kind == failure_kind::timed_out;
  switch (failure.step) {
    case failed_step::lookup:
      if (timed_out) return "the lookup of " + std::string(host) + " did not answer " + within;
      if (failure.kind == failure_kind::unknown_host || detail.empty()) {
        return "cannot resolve host " + std::string(host);
      }
      return "cannot resolve host " + std::string(host) + ": " + detail;
    case failed_step::connect:
      if (timed_out) return who + " did not accept the connection " + within;
      return "cannot connect to " + who + (detail.empty() ? "" : ": " + detail);
    case failed_step::command:
      if (timed_out) return who + " did not answer " + within;
      if (failure.kind == failure_kind::closed) return who + " closed the connection";
      return "lost the connection to " + who + ": " + detail;
    case failed_step::request:
    case failed_step::answer:
      if (timed_out) return who + " did not answer " + within;
      if (failure.kind == failure_kind::closed) {
        return who + " closed the connection without answering";
      }
      if (failure.step == failed_step::request)
        return "lost the connection to " + who + ": " + detail;
      return who + " sent an answer that is not HTTP: " + detail;
  }
  return who + ": " + detail;
}

std::string redis_server_name(std::string_view host, unsigned port) {
  const std::string shown =
      host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]" : std::string(host);
  return "Redis at " + shown + ":" + std::to_string(port);
}

std::string refused_handshake_sentence(std::string_view refused_command, std::string_view server,
                                       int db) {
  if (refused_command == "SELECT") {
    return "cannot select database " + std::to_string(db) + " on " + std::string(server);
  }
  return std::string(server) + " refused the password";
}

}  // namespace dispatcher::app
