// `dispatcher listen`: a webhook receiver for developers, like `svix listen` or `stripe
// listen` without the tunnel. It answers every POST on a loopback port, verifies it with
// the endpoint's secret through signing/verify.hpp (the same code a C++ receiver would
// use), prints one line per webhook (id, type, verified or why not) and answers 204, or
// the status given with --status to see the dispatcher's retries. The line is decided by
// a pure function (describe_webhook); only run_listen does I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dispatcher::app {

struct listen_options {
  std::string host = "127.0.0.1";     // --host: loopback unless asked (a container needs 0.0.0.0)
  std::uint16_t port = 9101;          // --port
  std::optional<std::string> secret;  // --secret whsec_...: verify with it
  unsigned status = 204;              // --status CODE: the answer to every webhook
  std::optional<unsigned> count;      // --count N: exit after N requests (scripts, tests)
  bool help = false;
};

/// The flags after `listen`; a sentence saying what is wrong with them instead.
std::variant<listen_options, std::string> parse_listen_args(const std::vector<std::string>& args);

std::string listen_usage();

/// What a received request carries that the line needs (header names as received).
struct received_webhook {
  std::string method;
  std::string target;
  std::string id;         // webhook-id
  std::string timestamp;  // webhook-timestamp
  std::string signature;  // webhook-signature
  std::string chift;      // x-chift-signature
  std::string body;
};

/// The line printed for one request: "<id> <type> verified -> <status>", or "... NOT
/// verified (<why>) ...", or "unverified (no --secret)". The type is the body's "event".
std::string describe_webhook(const received_webhook& w, const std::optional<std::string>& secret,
                             std::int64_t now_s, unsigned status);

/// Runs the receiver until SIGINT or SIGTERM, or --count requests; `args` are the words
/// after `listen`.
int run_listen(const std::vector<std::string>& args);

}  // namespace dispatcher::app
