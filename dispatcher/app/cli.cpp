// Command-line parsing with Boost.ProgramOptions. The first word picks the command; each
// command has its own option set, so `dispatcher replay --listen x` is an error rather than
// silently ignored. Setting flags are one per field of config::settings, spelled with
// dashes, and are handed on as strings: their values are parsed and validated in one place,
// config::load_settings, whichever layer (file, environment, flag) they came from.
#include "dispatcher/app/cli.hpp"

#include <array>
#include <charconv>
#include <functional>
#include <vector>

#include <boost/program_options.hpp>

#include "dispatcher/common/ids.hpp"
#include "dispatcher/config/duration.hpp"
#include "dispatcher/config/settings.hpp"

namespace dispatcher::app {
namespace {

namespace po = boost::program_options;

struct setting_flag {
  std::string_view name;        // lower_snake setting name
  std::string_view value_name;  // shown in the help, e.g. HOST:PORT
  std::string_view help;
  // The default as text, taken from config::settings so the help cannot go stale.
  std::function<std::string(const config::settings&)> default_text;
};

std::string join_durations(const std::vector<std::chrono::milliseconds>& list) {
  std::string out;
  for (const auto d : list) {
    if (!out.empty()) out += ',';
    out += config::format_duration(d);
  }
  return out;
}

const std::vector<setting_flag>& setting_flags() {
  using config::format_duration;
  using s = config::settings;
  static const std::vector<setting_flag> flags{
      {"redis_url", "URL", "Redis to use: redis://[:password@]host[:port][/db]",
       [](const s& v) { return v.redis_url; }},
      {"stream", "NAME", "stream of lifecycle events", [](const s& v) { return v.stream; }},
      {"group", "NAME", "consumer group", [](const s& v) { return v.group; }},
      {"consumer", "NAME", "consumer name within the group",
       [](const s&) { return std::string("<hostname>-<pid>"); }},
      {"max_payload", "BYTES", "largest accepted event payload",
       [](const s& v) { return std::to_string(v.max_payload); }},
      {"dead_letter_max", "N", "about how many entries the dead-letter stream keeps",
       [](const s& v) { return std::to_string(v.dead_letter_max); }},
      {"request_timeout", "DURATION", "time allowed for one webhook attempt",
       [](const s& v) { return format_duration(v.request_timeout); }},
      {"retry_schedule", "LIST", "delays before attempts 2, 3, ... (comma-separated)",
       [](const s& v) { return join_durations(v.retry_schedule); }},
      {"retention", "DURATION", "how long events, deliveries and attempts are kept",
       [](const s& v) { return format_duration(v.retention); }},
      {"listen", "HOST:PORT", "address of the admin API, health and metrics",
       [](const s& v) { return v.listen; }},
      {"admin_token", "TOKEN", "bearer token for /v1/ (required; prefer the environment)",
       [](const s&) { return std::string("none"); }},
      {"metrics_token", "TOKEN", "bearer token for /metrics",
       [](const s&) { return std::string("none"); }},
      {"ca_file", "FILE", "PEM bundle for HTTPS targets instead of the system store",
       [](const s&) { return std::string("system store"); }},
      {"allow_private_targets", "BOOL", "allow loopback and private webhook targets",
       [](const s& v) { return std::string(v.allow_private_targets ? "true" : "false"); }},
      {"batch_size", "N", "stream entries read at a time",
       [](const s& v) { return std::to_string(v.batch_size); }},
      {"max_in_flight", "N", "webhook attempts in flight in this process",
       [](const s& v) { return std::to_string(v.max_in_flight); }},
      {"endpoint_concurrency", "N", "attempts in flight per endpoint, across all instances",
       [](const s& v) { return std::to_string(v.endpoint_concurrency); }},
      {"replay_rate", "N", "deliveries per second per endpoint a bulk replay queues",
       [](const s& v) { return std::to_string(v.replay_rate); }},
      {"metrics_endpoints", "N", "endpoints with their own attempt series in /metrics",
       [](const s& v) { return std::to_string(v.metrics_endpoints); }},
      {"poll_interval", "DURATION", "how often due retries are looked for",
       [](const s& v) { return format_duration(v.poll_interval); }},
      {"shutdown_timeout", "DURATION", "time in-flight attempts get to finish on SIGTERM",
       [](const s& v) { return format_duration(v.shutdown_timeout); }},
      {"log_level", "LEVEL", "debug, info, warn or error", [](const s& v) { return v.log_level; }},
  };
  return flags;
}

// The settings publish needs: where the stream is and how large an event may be.
constexpr std::array<std::string_view, 4> publish_settings{"redis_url", "stream", "max_payload",
                                                           "log_level"};

std::string dashed(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = c == '_' ? '-' : c;
  return out;
}

std::string env_name(std::string_view name) {
  std::string out = "DISPATCHER_";
  for (const char c : name) out += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

// The option sets below only drive parsing; the help text is rendered from help_row
// lists further down.
void add_setting(po::options_description& desc, const setting_flag& f) {
  auto* value = po::value<std::string>();
  // A bare --allow-private-targets means true; --allow-private-targets=false also works.
  if (f.name == "allow_private_targets") value->implicit_value("true");
  desc.add_options()(dashed(f.name).c_str(), value);
}

void add_config(po::options_description& desc) {
  desc.add_options()("config", po::value<std::string>());
}

void add_help(po::options_description& desc) {
  desc.add_options()("help,h", po::bool_switch());
}

po::options_description serve_options() {
  po::options_description desc;
  add_config(desc);
  for (const auto& f : setting_flags()) add_setting(desc, f);
  add_help(desc);
  return desc;
}

po::options_description replay_options_description() {
  po::options_description desc;
  desc.add_options()                            //
      ("endpoint", po::value<std::string>())    //
      ("status", po::value<std::string>())      //
      ("event", po::value<std::string>())       //
      ("consumer", po::value<std::string>())    //
      ("connection", po::value<std::string>())  //
      ("since", po::value<std::string>())       //
      ("until", po::value<std::string>())       //
      ("dry-run", po::bool_switch())            //
      ("url", po::value<std::string>())         //
      ("timeout", po::value<std::string>());
  add_help(desc);
  return desc;
}

po::options_description publish_options_description() {
  po::options_description desc;
  add_config(desc);
  for (const auto& f : setting_flags()) {
    for (const auto name : publish_settings) {
      if (f.name == name) add_setting(desc, f);
    }
  }
  desc.add_options()("timeout", po::value<std::string>());
  add_help(desc);
  return desc;
}

// Options must be spelled out: with guessing on, a later flag that shares a prefix would
// silently change what an existing script's abbreviation means.
constexpr int parser_style =
    po::command_line_style::default_style & ~po::command_line_style::allow_guessing;

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& desc,
                        const po::positional_options_description& positional,
                        const std::string& command) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args)
                  .options(desc)
                  .positional(positional)
                  .style(parser_style)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::too_many_positional_options_error&) {
    throw usage_error("unexpected argument for '" + command + "'", command);
  } catch (const po::error& e) {
    throw usage_error(command + ": " + e.what(), command);
  }
  return vm;
}

std::optional<std::string> optional_string(const po::variables_map& vm, const char* name) {
  if (!vm.count(name)) return std::nullopt;
  return vm[name].as<std::string>();
}

bool wants_help(const po::variables_map& vm) {
  return vm.count("help") && vm["help"].as<bool>();
}

command_line help_for(std::string topic) {
  command_line out;
  out.cmd = command_line::command::help;
  out.help.topic = std::move(topic);
  return out;
}

bool is_command(std::string_view word) {
  return word == "serve" || word == "replay" || word == "publish" || word == "dead-letters" ||
         word == "help";
}

void collect_settings(const po::variables_map& vm, command_line& out) {
  if (vm.count("config")) out.config_file = vm["config"].as<std::string>();
  for (const auto& f : setting_flags()) {
    const std::string flag = dashed(f.name);
    if (vm.count(flag)) out.setting_flags[std::string(f.name)] = vm[flag].as<std::string>();
  }
}

// --timeout DURATION, written like every other duration; the default when absent.
std::chrono::milliseconds timeout_flag(const po::variables_map& vm, const std::string& command) {
  if (!vm.count("timeout")) return default_command_timeout;
  const std::string& text = vm["timeout"].as<std::string>();
  const auto parsed = config::parse_duration_or_zero(text);
  if (!parsed) {
    throw usage_error(
        command + ": --timeout must be a duration such as 500ms, 5s or 2m, not \"" + text + "\"",
        command);
  }
  if (parsed->count() == 0) throw usage_error(command + ": --timeout must be positive", command);
  // A day is already far past any answer worth waiting for, and the bound keeps the
  // deadlines computed from it (steady_clock nanoseconds, timeval) clear of overflow.
  if (*parsed > max_command_timeout) {
    throw usage_error(command + ": --timeout must be at most " +
                          config::format_duration(max_command_timeout) + ", not " + text,
                      command);
  }
  return *parsed;
}

command_line parse_serve(const std::vector<std::string>& args) {
  const po::variables_map vm = parse(args, serve_options(), {}, "serve");
  if (wants_help(vm)) return help_for("serve");
  command_line out;
  out.cmd = command_line::command::serve;
  collect_settings(vm, out);
  return out;
}

command_line parse_replay(const std::vector<std::string>& args) {
  po::options_description hidden;
  hidden.add_options()("delivery", po::value<std::string>());
  po::options_description all;
  all.add(replay_options_description()).add(hidden);
  po::positional_options_description positional;
  positional.add("delivery", 1);
  const po::variables_map vm = parse(args, all, positional, "replay");
  if (wants_help(vm)) return help_for("replay");
  command_line out;
  out.cmd = command_line::command::replay;
  if (auto delivery = optional_string(vm, "delivery")) {
    if (!delivery->starts_with("dlv_")) {
      throw usage_error("replay: \"" + *delivery +
                            "\" is not a delivery id (they start with dlv_); use --endpoint, "
                            "--event and the other flags to replay by filter",
                        "replay");
    }
    // One delivery is replayed as it is: a filter or a dry run would not change that, so
    // they are refused rather than silently ignored.
    for (const auto* name :
         {"endpoint", "status", "event", "consumer", "connection", "since", "until"}) {
      if (vm.count(name)) {
        throw usage_error("replay: --" + std::string(name) +
                              " filters a bulk replay; it cannot be combined with a delivery id",
                          "replay");
      }
    }
    if (vm["dry-run"].as<bool>()) {
      throw usage_error(
          "replay: --dry-run counts a bulk replay; it cannot be combined with a "
          "delivery id",
          "replay");
    }
    out.replay.delivery = *delivery;
  }
  out.replay.endpoint = optional_string(vm, "endpoint");
  if (auto status = optional_string(vm, "status")) out.replay.status = *status;
  const auto& status = out.replay.status;
  // Pending and retrying deliveries are queued already; only finished ones are replayed.
  if (status != "succeeded" && status != "failed") {
    throw usage_error("replay: --status must be failed or succeeded, not \"" + status + "\"",
                      "replay");
  }
  out.replay.event = optional_string(vm, "event");
  out.replay.consumer = optional_string(vm, "consumer");
  out.replay.connection = optional_string(vm, "connection");
  out.replay.since = optional_string(vm, "since");
  out.replay.until = optional_string(vm, "until");
  out.replay.dry_run = vm["dry-run"].as<bool>();
  out.replay.url = optional_string(vm, "url");
  out.replay.timeout = timeout_flag(vm, "replay");
  for (const auto* name :
       {"endpoint", "event", "consumer", "connection", "since", "until", "url"}) {
    if (vm.count(name) && vm[name].as<std::string>().empty()) {
      throw usage_error("replay: --" + std::string(name) + " must not be empty", "replay");
    }
  }
  return out;
}

command_line parse_publish(const std::vector<std::string>& args) {
  po::options_description desc = publish_options_description();
  po::options_description hidden;
  hidden.add_options()("file", po::value<std::string>());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("file", 1);
  const po::variables_map vm = parse(args, all, positional, "publish");
  if (wants_help(vm)) return help_for("publish");
  command_line out;
  out.cmd = command_line::command::publish;
  collect_settings(vm, out);
  out.publish.timeout = timeout_flag(vm, "publish");
  if (auto file = optional_string(vm, "file")) {
    if (file->empty()) throw usage_error("publish: FILE must not be empty", "publish");
    out.publish.file = *file;
  }
  return out;
}

command_line parse_dead_letters(const std::vector<std::string>& args) {
  const std::string command = "dead-letters";
  po::options_description desc;
  desc.add_options()                        //
      ("limit", po::value<std::string>())   //
      ("cursor", po::value<std::string>())  //
      ("url", po::value<std::string>())     //
      ("timeout", po::value<std::string>());
  add_help(desc);
  po::options_description hidden;
  hidden.add_options()("words", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("words", -1);
  const po::variables_map vm = parse(args, all, positional, command);
  if (wants_help(vm)) return help_for(command);

  command_line out;
  out.cmd = command_line::command::dead_letters;
  auto& o = out.dead_letters;
  const auto words =
      vm.count("words") ? vm["words"].as<std::vector<std::string>>() : std::vector<std::string>{};
  const std::string action = words.empty() ? "list" : words.front();
  const auto takes = [&](std::size_t least, std::size_t most, const char* form) {
    if (words.size() < least || words.size() > most) {
      throw usage_error(command + " " + action + " takes " + form, command);
    }
  };
  if (action == "list") {
    takes(0, 1, "no arguments");
    o.act = dead_letters_options::action::list;
  } else if (action == "retry") {
    takes(2, 3, "a dead-letter ID and optionally a FILE (or -) holding the corrected event");
    o.act = dead_letters_options::action::retry;
    if (words.size() == 3) {
      if (words[2].empty()) throw usage_error(command + ": FILE must not be empty", command);
      o.file = words[2];
    }
  } else if (action == "delete") {
    takes(2, 2, "one dead-letter ID");
    o.act = dead_letters_options::action::remove;
  } else {
    throw usage_error(command + ": unknown action \"" + action + "\"; use list, retry or delete",
                      command);
  }
  if (o.act != dead_letters_options::action::list) {
    o.id = words[1];
    if (!is_stream_id(o.id)) {
      throw usage_error(command + ": \"" + o.id +
                            "\" is not a dead-letter id (they look like 1700000000000-0, as "
                            "dispatcher dead-letters lists them)",
                        command);
    }
    for (const auto* name : {"limit", "cursor"}) {
      if (vm.count(name)) {
        throw usage_error(command + ": --" + std::string(name) + " pages the list; " + action +
                              " does not take it",
                          command);
      }
    }
  }
  if (auto limit = optional_string(vm, "limit")) {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc{} || end != limit->data() + limit->size() || n < 1 || n > 500) {
      throw usage_error(command + ": --limit must be an integer from 1 to 500", command);
    }
    o.limit = n;
  }
  if (auto cursor = optional_string(vm, "cursor")) {
    if (!is_stream_id(*cursor)) {
      throw usage_error(command + ": --cursor must be a next cursor a list printed", command);
    }
    o.cursor = *cursor;
  }
  o.url = optional_string(vm, "url");
  if (o.url && o.url->empty()) throw usage_error(command + ": --url must not be empty", command);
  o.timeout = timeout_flag(vm, command);
  return out;
}

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

command_line parse_command_line(int argc, const char* const argv[]) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  if (args.empty()) throw usage_error("no command given");

  const std::string word = args.front();
  const std::vector<std::string> rest(args.begin() + 1, args.end());

  if (word == "--version") {
    if (!rest.empty()) throw usage_error("--version takes no arguments");
    command_line out;
    out.cmd = command_line::command::version;
    return out;
  }
  if (word == "help" || word == "--help" || word == "-h") {
    if (rest.size() > 1) throw usage_error("help takes at most one command", "help");
    if (rest.empty()) return help_for("");
    if (!is_command(rest.front())) {
      throw usage_error("no help for unknown command \"" + rest.front() + "\"", "help");
    }
    return help_for(rest.front());
  }
  if (word == "serve") return parse_serve(rest);
  if (word == "replay") return parse_replay(rest);
  if (word == "publish") return parse_publish(rest);
  if (word == "dead-letters") return parse_dead_letters(rest);
  if (!word.empty() && word.front() == '-') {
    throw usage_error("unknown option \"" + word + "\"; options go after the command");
  }
  throw usage_error("unknown command \"" + word + "\"");
}

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
