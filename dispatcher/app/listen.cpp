// The listen command's decisions, apart from its socket (listen_server.cpp) so they are
// unit-tested without one: which flags it takes, and the one line it prints per webhook.
#include "dispatcher/app/listen.hpp"

#include <arpa/inet.h>

#include <charconv>

#include <nlohmann/json.hpp>

#include "dispatcher/signing/signature.hpp"
#include "dispatcher/signing/verify.hpp"

namespace dispatcher::app {

namespace {

std::optional<unsigned> parse_number(std::string_view text, unsigned low, unsigned high) {
  unsigned v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || v < low || v > high) {
    return std::nullopt;
  }
  return v;
}

std::string event_type(std::string_view body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object()) {
    const auto it = json.find("event");
    if (it != json.end() && it->is_string()) return it->get<std::string>();
  }
  return "-";
}

bool is_ip_address(const std::string& text) {
  unsigned char bytes[16];
  return inet_pton(AF_INET, text.c_str(), bytes) == 1 ||
         inet_pton(AF_INET6, text.c_str(), bytes) == 1;
}

}  // namespace

std::variant<listen_options, std::string> parse_listen_args(const std::vector<std::string>& args) {
  listen_options out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      out.help = true;
      continue;
    }
    if (flag != "--port" && flag != "--secret" && flag != "--status" && flag != "--host" &&
        flag != "--count") {
      return "listen: unknown option \"" + flag + "\"";
    }
    if (i + 1 >= args.size()) return "listen: " + flag + " needs a value";
    const std::string& value = args[++i];
    if (flag == "--port") {
      const auto port = parse_number(value, 1, 65535);
      if (!port) return "listen: --port must be a number from 1 to 65535, not \"" + value + "\"";
      out.port = static_cast<std::uint16_t>(*port);
    } else if (flag == "--status") {
      const auto status = parse_number(value, 200, 599);
      if (!status)
        return "listen: --status must be an HTTP status from 200 to 599, not \"" + value + "\"";
      out.status = *status;
    } else if (flag == "--count") {
      const auto count = parse_number(value, 1, 1'000'000'000);
      if (!count) return "listen: --count must be a positive number, not \"" + value + "\"";
      out.count = *count;
    } else if (flag == "--secret") {
      if (!signing::decode_secret(value)) {
        return "listen: --secret must be an endpoint secret, whsec_<base64>";
      }
      out.secret = value;
    } else {
      if (!is_ip_address(value))
        return "listen: --host must be an IP address, not \"" + value + "\"";
      out.host = value;
    }
  }
  return out;
}

std::string listen_usage() {
  return "Usage: dispatcher listen [--port N] [--secret whsec_...] [--status CODE] [--host ADDR]\n"
         "                         [--count N]\n"
         "\n"
         "A webhook receiver for trying the dispatcher out: answers every request on\n"
         "ADDR:N (127.0.0.1:9101) with CODE (204), and prints one line per webhook: its\n"
         "webhook-id, its event type, and whether it verified with the endpoint's secret\n"
         "(Standard Webhooks headers, else x-chift-signature), or why not. A --status of 500\n"
         "shows the dispatcher's retries. Ctrl-C stops it, or --count N requests.\n";
}

std::string describe_webhook(const received_webhook& w, const std::optional<std::string>& secret,
                             std::int64_t now_s, unsigned status) {
  std::string line = (w.id.empty() ? std::string("-") : w.id) + " " + event_type(w.body) + " ";
  if (!secret) {
    line += "unverified (no --secret)";
  } else {
    const auto result =
        !w.signature.empty() || w.chift.empty()
            ? signing::verify_standard(*secret, w.id, w.timestamp, w.signature, w.body, now_s)
            : signing::verify_chift(*secret, w.chift, w.body);
    line += result.ok() ? "verified" : "NOT verified (" + result.reason + ")";
  }
  if (w.method != "POST") line += " [" + w.method + " " + w.target + "]";
  return line + " -> " + std::to_string(status);
}

}  // namespace dispatcher::app
