// The text of `dispatcher help [COMMAND]` and of a usage error: what each command does and
// its options, rendered from rows of our own (see render) so the layout stays readable.
#include <string>
#include <vector>

#include "dispatcher/app/cli.hpp"
#include "dispatcher/app/setting_flags.hpp"
#include "dispatcher/config/duration.hpp"

namespace dispatcher::app {

namespace {

// The help is rendered from our own rows rather than by ProgramOptions, whose layout
// wraps the environment variable names mid-word and shows "-h [ --help ]".
struct help_row {
  std::string flag;    // "--endpoint ID"
  std::string text;    // what it does
  std::string detail;  // a second line: variable and default
};

help_row row_for(const setting_flag& f) {
  static const config::settings defaults;
  // Appended rather than "--" + dashed(...): GCC 12 at -O3 reports a false -Wrestrict on
  // operator+(const char*, std::string&&).
  std::string flag = "--";
  flag += dashed(f.name);
  if (f.name == "allow_private_targets") {
    flag += "[=BOOL]";
  } else {
    flag += ' ';
    flag += f.value_name;
  }
  return {flag, std::string(f.help), env_name(f.name) + ", default: " + f.default_text(defaults)};
}

const help_row config_row{"--config FILE", "JSON file of settings, keyed by lower_snake name", ""};
const help_row help_row_{"-h, --help", "show this help", ""};

help_row timeout_row(std::string_view what) {
  return {"--timeout DURATION", "time allowed for " + std::string(what),
          "default: " + config::format_duration(default_command_timeout) + ", then exit 1"};
}

std::vector<help_row> serve_rows() {
  std::vector<help_row> rows{config_row};
  for (const auto& f : setting_flags()) rows.push_back(row_for(f));
  rows.push_back(help_row_);
  return rows;
}

std::vector<help_row> replay_rows() {
  return {
      {"--endpoint ID", "only this endpoint's deliveries", ""},
      {"--status STATUS", "failed or succeeded", "default: failed"},
      {"--event TYPE", "only deliveries of this event type", ""},
      {"--consumer ID", "only this consumer's deliveries", ""},
      {"--connection ID", "only this connection's deliveries", ""},
      {"--since TIME", "only deliveries since TIME (RFC 3339 or unix seconds)", ""},
      {"--until TIME", "only deliveries until TIME (RFC 3339 or unix seconds)", ""},
      {"--dry-run", "count the matching deliveries, requeue none", ""},
      {"--url URL", "admin API base URL", "DISPATCHER_URL"},
      timeout_row("the whole exchange with the API"),
      help_row_,
  };
}

std::vector<help_row> dead_letters_rows() {
  return {
      {"--limit N", "list at most N dead letters, newest first", "default: 50, at most 500"},
      {"--cursor C", "list those after the ones a previous list showed", ""},
      {"--url URL", "admin API base URL", "DISPATCHER_URL"},
      timeout_row("the whole exchange with the API"),
      help_row_,
  };
}

std::vector<help_row> publish_rows() {
  std::vector<help_row> rows{config_row};
  for (const auto& f : setting_flags()) {
    for (const auto name : publish_settings) {
      if (f.name == name) rows.push_back(row_for(f));
    }
  }
  rows.push_back(timeout_row("each answer from Redis"));
  rows.push_back(help_row_);
  return rows;
}

std::string render(const std::vector<help_row>& rows) {
  constexpr std::size_t column = 34;
  std::string out = "Options:\n";
  for (const auto& r : rows) {
    std::string line = "  " + r.flag;
    if (line.size() + 2 > column) {
      out += line + "\n";
      line.clear();
    }
    line.resize(column, ' ');
    out += line + r.text + "\n";
    if (!r.detail.empty()) out += std::string(column, ' ') + r.detail + "\n";
  }
  return out;
}

}  // namespace

std::string usage_text(std::string_view topic) {
  if (topic == "serve") {
    return "Usage: dispatcher serve [OPTIONS]\n"
           "\n"
           "Reads connection lifecycle events from a Redis stream and delivers them to the\n"
           "subscribed webhook endpoints, with retries; serves the admin API, /healthz,\n"
           "/readyz and /metrics.\n"
           "\n"
           "Every setting comes, in rising precedence, from its default, the --config file,\n"
           "its DISPATCHER_* environment variable and its flag. Durations are written 250ms,\n"
           "5s, 5m, 2h or 30d. DISPATCHER_ADMIN_TOKEN must be set.\n"
           "\n" +
           render(serve_rows());
  }
  if (topic == "replay") {
    return "Usage: dispatcher replay [--endpoint ID] [--status STATUS] [--event TYPE]\n"
           "                         [--consumer ID] [--connection ID] [--since TIME]\n"
           "                         [--until TIME] [--dry-run] [--url URL]\n"
           "                         [--timeout DURATION]\n"
           "       dispatcher replay DELIVERY_ID [--url URL] [--timeout DURATION]\n"
           "\n"
           "Requeues matching deliveries through the admin API of a running dispatcher\n"
           "(DISPATCHER_URL, authenticated with DISPATCHER_ADMIN_TOKEN from the environment,\n"
           "so the token does not show in the process list). Each replayed delivery gets one\n"
           "new attempt with the same webhook-id and body; a large replay is paced per\n"
           "endpoint (DISPATCHER_REPLAY_RATE) so fresh deliveries keep flowing. With a\n"
           "DELIVERY_ID (dlv_...) it replays that one delivery. An --endpoint that does not\n"
           "exist is an error, not zero matches.\n"
           "\n" +
           render(replay_rows());
  }
  if (topic == "publish") {
    return "Usage: dispatcher publish [OPTIONS] [FILE|-]\n"
           "\n"
           "Adds events to the stream, one JSON object a line, from FILE or standard input\n"
           "(\"-\", the default).\n"
           "\n" +
           render(publish_rows());
  }
  if (topic == "dead-letters") {
    return "Usage: dispatcher dead-letters [list] [--limit N] [--cursor C] [--url URL]\n"
           "                               [--timeout DURATION]\n"
           "       dispatcher dead-letters retry ID [FILE|-] [--url URL] [--timeout DURATION]\n"
           "       dispatcher dead-letters delete ID [--url URL] [--timeout DURATION]\n"
           "\n"
           "Stream entries that were not valid events are kept in the dead-letter stream with\n"
           "the reason. list shows them, newest first, with their ID, time, error and\n"
           "payload. retry validates the event again and publishes it: the stored payload, or\n"
           "the corrected event (one JSON object) in FILE or on standard input (-); once it\n"
           "is published the dead letter is removed, and while it is still invalid it stays\n"
           "and the error is shown (exit 1). delete discards one. Each goes through the admin\n"
           "API of a running dispatcher (DISPATCHER_URL, authenticated with\n"
           "DISPATCHER_ADMIN_TOKEN from the environment).\n"
           "\n" +
           render(dead_letters_rows());
  }
  if (topic == "help") {
    return "Usage: dispatcher help [COMMAND]\n"
           "\n"
           "Shows the usage of COMMAND (serve, replay, publish, dead-letters), or of the\n"
           "dispatcher.\n";
  }
  return "Usage: dispatcher COMMAND [OPTIONS]\n"
         "\n"
         "Delivers connection lifecycle events from a Redis stream to webhook endpoints.\n"
         "\n"
         "Commands:\n"
         "  serve              run the service\n"
         "  replay             requeue deliveries through the admin API\n"
         "  publish [FILE|-]   add events (one JSON object a line) to the stream\n"
         "  dead-letters       list, retry or delete the entries that were not valid events\n"
         "  listen             a local webhook receiver that verifies and prints what arrives\n"
         "  healthcheck        exit 0 when the service's /healthz answers (container check)\n"
         "  help [COMMAND]     show the usage of a command\n"
         "\n"
         "  --version          print the version\n"
         "\n"
         "Exit codes: 0 ok, 2 bad usage or configuration, 1 runtime failure.\n";
}

}  // namespace dispatcher::app
