// Command-line parsing with Boost.ProgramOptions. The first word picks the command; each
// command has its own option set, so `dispatcher replay --listen x` is an error rather than
// silently ignored. Setting flags are one per field of config::settings, spelled with
// dashes, and are handed on as strings: their values are parsed and validated in one place,
// config::load_settings, whichever layer (file, environment, flag) they came from. The
// flags themselves are listed in setting_flags.cpp, the help text is usage.cpp.
#include "dispatcher/app/cli.hpp"

#include <charconv>
#include <vector>

#include <boost/program_options.hpp>

#include "dispatcher/app/setting_flags.hpp"
#include "dispatcher/common/ids.hpp"
#include "dispatcher/config/duration.hpp"
#include "dispatcher/config/settings.hpp"

namespace dispatcher::app {
namespace {

namespace po = boost::program_options;

// The option sets below only drive parsing; the help text is rendered from rows of its
// own (usage.cpp).
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

}  // namespace dispatcher::app
