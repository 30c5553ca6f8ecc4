// The admin API commands' requests and the meaning of the answers; see admin_answers.hpp.
#include "dispatcher/app/admin_answers.hpp"

#include <cctype>

#include "dispatcher/common/json.hpp"

namespace dispatcher::app {

namespace {

using nlohmann::json;

command_outcome failed(std::string sentence) {
  return {1, {}, std::move(sentence)};
}

command_outcome succeeded(std::string out) {
  return {0, std::move(out), std::nullopt};
}

std::string string_member(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string refused(const std::string& api_name, const api_answer& answer) {
  return api_name + " answered " + std::to_string(answer.status) + ": " +
         api_error_text(answer.body);
}

}  // namespace

std::variant<admin_api_address, std::string> admin_api_from(
    const std::optional<std::string>& url_flag, const environment_lookup& env) {
  admin_api_address out;
  out.url = url_flag.value_or(env("DISPATCHER_URL").value_or("http://127.0.0.1:8080"));
  out.token = env("DISPATCHER_ADMIN_TOKEN").value_or("");
  if (out.token.empty()) return std::string("DISPATCHER_ADMIN_TOKEN is not set");
  auto parsed = dispatcher::parse_target(out.url);
  if (auto* bad = std::get_if<std::string>(&parsed)) return "DISPATCHER_URL: " + *bad;
  out.where = std::get<dispatcher::target>(std::move(parsed));
  if (out.where.tls) return std::string("DISPATCHER_URL: the admin API is served over http");
  return out;
}

std::string path_segment(std::string_view id) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : id) {
    const auto b = static_cast<unsigned char>(c);
    if (std::isalnum(b) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 0x0f];
    }
  }
  return out;
}

std::string api_error_text(std::string_view body) {
  const auto parsed = json::parse(body, nullptr, false);
  if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object()) {
    const auto& error = parsed["error"];
    if (error.contains("message") && error["message"].is_string()) {
      return error["message"].get<std::string>();
    }
  }
  constexpr std::size_t shown = 200;
  return body.size() > shown ? std::string(body.substr(0, shown)) + "..." : std::string(body);
}

std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

// -- replay ----------------------------------------------------------------------------------

json replay_request_body(const replay_options& options) {
  json body = {{"status", options.status}, {"dry_run", options.dry_run}};
  if (options.endpoint) body["endpoint_id"] = *options.endpoint;
  if (options.event) body["event"] = *options.event;
  if (options.consumer) body["consumerid"] = *options.consumer;
  if (options.connection) body["connectionid"] = *options.connection;
  if (options.since) body["since"] = *options.since;
  if (options.until) body["until"] = *options.until;
  return body;
}

command_outcome replay_one_outcome(const std::string& id, const api_answer& answer,
                                   const std::string& api_name) {
  switch (answer.status) {
    case 200:
    case 202:
      return succeeded("replayed delivery " + id + ": queued for one new attempt\n");
    case 404:
      return failed("no delivery " + id + " (it does not exist or is past retention)");
    case 409:
      return failed("cannot replay delivery " + id + ": " + api_error_text(answer.body));
    default:
      return failed(api_name + " refused the replay (" + std::to_string(answer.status) +
                    "): " + api_error_text(answer.body));
  }
}

std::optional<std::string> endpoint_check_failure(const std::string& endpoint,
                                                  const api_answer& answer,
                                                  const std::string& api_name) {
  if (answer.status == 404) return "endpoint " + endpoint + " does not exist";
  if (answer.status >= 300) {
    return api_name + " refused to show endpoint " + endpoint + " (" +
           std::to_string(answer.status) + "): " + api_error_text(answer.body);
  }
  return std::nullopt;
}

std::optional<long long> matched_count(const api_answer& answer) {
  if (answer.status >= 300) return std::nullopt;
  const auto parsed = json::parse(answer.body, nullptr, false);
  if (!parsed.is_object() || !parsed.value("matched", json()).is_number_integer()) {
    return std::nullopt;
  }
  return parsed["matched"].get<long long>();
}

command_outcome replay_outcome(bool dry_run, const api_answer& answer,
                               const std::string& api_name) {
  if (answer.status >= 300) {
    return failed(api_name + " refused the replay (" + std::to_string(answer.status) +
                  "): " + api_error_text(answer.body));
  }
  const auto parsed = json::parse(answer.body, nullptr, false);
  if (!parsed.is_object()) {
    return failed(api_name + " answered " + std::to_string(answer.status) +
                  " without a JSON object");
  }
  const auto count = [&](const char* key) {
    const auto it = parsed.find(key);
    return std::to_string(it != parsed.end() && it->is_number_integer() ? it->get<long long>()
                                                                        : 0LL);
  };
  if (dry_run)
    return succeeded("dry run: " + count("matched") + " deliveries match; none queued\n");
  return succeeded("matched " + count("matched") + " deliveries, queued " + count("queued") + "\n");
}

// -- dead-letters ----------------------------------------------------------------------------

std::variant<json, std::string> retry_body_from(std::string_view text, const std::string& source) {
  auto parsed = parse_untrusted_json(text);
  if (auto* problem = std::get_if<json_problem>(&parsed)) return source + " " + problem->message;
  auto& event = std::get<json>(parsed);
  if (!event.is_object()) return source + " must hold one JSON object, the corrected event";
  return json{{"payload", std::move(event)}};
}

std::string dead_letters_list_target(std::size_t limit, const std::optional<std::string>& cursor) {
  std::string target = "/v1/dead-letters?limit=" + std::to_string(limit);
  if (cursor) target += "&cursor=" + *cursor;
  return target;
}

command_outcome dead_letter_delete_outcome(const std::string& id, const api_answer& answer,
                                           const std::string& api_name) {
  if (answer.status == 404) return failed("no dead letter " + id);
  if (answer.status >= 300) return failed(refused(api_name, answer));
  return succeeded("deleted dead letter " + id + "\n");
}

command_outcome dead_letter_retry_outcome(const std::string& id, const api_answer& answer,
                                          const std::string& api_name) {
  if (answer.status == 404) return failed("no dead letter " + id);
  if (answer.status == 422) {
    return failed("dead letter " + id +
                  " is still invalid and stays: " + api_error_text(answer.body));
  }
  if (answer.status >= 300) return failed(refused(api_name, answer));
  const auto parsed = json::parse(answer.body, nullptr, false);
  const std::string event_id = parsed.is_object() ? string_member(parsed, "id") : "";
  const bool duplicate = parsed.is_object() && parsed.value("duplicate", false);
  return succeeded("retried dead letter " + id + ": " +
                   (duplicate ? "event " + event_id + " was already accepted; nothing sent again"
                              : "published as event " + event_id) +
                   "; the dead letter is removed\n");
}

command_outcome dead_letters_list_outcome(std::size_t limit, const api_answer& answer,
                                          const std::string& api_name) {
  if (answer.status >= 300) return failed(refused(api_name, answer));
  const auto parsed = json::parse(answer.body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("data") || !parsed["data"].is_array()) {
    return failed(api_name + " answered without a list");
  }
  const auto& data = parsed["data"];
  std::string out;
  if (data.empty()) out += "no dead letters\n";
  for (const auto& letter : data) {
    if (!letter.is_object()) continue;
    out += string_member(letter, "id") + "  " + string_member(letter, "at") +
           "  from stream entry " + string_member(letter, "source_id") + "\n" +
           "  error:   " + printable(string_member(letter, "error")) + "\n" +
           "  payload: " + printable(string_member(letter, "payload")) + "\n";
  }
  if (const auto next = parsed.find("next_cursor"); next != parsed.end() && next->is_string()) {
    out += "more: dispatcher dead-letters --limit " + std::to_string(limit) + " --cursor " +
           next->get<std::string>() + "\n";
  }
  return succeeded(std::move(out));
}

}  // namespace dispatcher::app
