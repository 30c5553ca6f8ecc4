// The dispatcher command: parse the command line, load settings, run. Nothing else.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "dispatcher/app/cli.hpp"
#include "dispatcher/app/commands.hpp"
#include "dispatcher/app/healthcheck.hpp"
#include "dispatcher/app/listen.hpp"
#include "dispatcher/app/open_files.hpp"
#include "dispatcher/app/service.hpp"
#include "dispatcher/config/settings.hpp"
#include "dispatcher/obs/log.hpp"

namespace {

std::optional<std::string> from_environment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

dispatcher::config::environment process_environment() {
  dispatcher::config::environment out;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    out.emplace_back(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using dispatcher::app::command_line;
  // Tools beside the service that parse their own flags (app/listen.hpp, app/healthcheck.hpp).
  if (argc > 1 && std::string_view(argv[1]) == "listen") {
    return dispatcher::app::run_listen({argv + 2, argv + argc});
  }
  if (argc > 1 && std::string_view(argv[1]) == "healthcheck") {
    return dispatcher::app::run_healthcheck({argv + 2, argv + argc}, from_environment);
  }
  command_line cli;
  try {
    cli = dispatcher::app::parse_command_line(argc, argv);
  } catch (const dispatcher::app::usage_error& e) {
    std::cerr << "dispatcher: " << e.what() << "\n\n" << dispatcher::app::usage_text(e.topic());
    return 2;
  }

  switch (cli.cmd) {
    case command_line::command::version:
      std::cout << "dispatcher " << DISPATCHER_VERSION << "\n";
      return 0;
    case command_line::command::help:
      std::cout << dispatcher::app::usage_text(cli.help.topic);
      return 0;
    case command_line::command::replay:
      return dispatcher::app::run_replay(cli.replay, from_environment);
    case command_line::command::dead_letters:
      return dispatcher::app::run_dead_letters(cli.dead_letters, from_environment);
    default:
      break;
  }

  // A misspelt variable would otherwise pass silently (CONTRACT section 7). serve says so
  // even when it cannot start: DISPATCHER_ADMIN_TOKN is why the token is missing.
  const bool serve = cli.cmd == command_line::command::serve;
  const auto warn_unknown_variables = [&] {
    if (!serve) return;
    for (const auto& unknown : dispatcher::config::unknown_variables(process_environment())) {
      dispatcher::obs::log_warn(unknown.message(), {{"setting", unknown.name}});
    }
  };

  dispatcher::config::settings settings;
  try {
    settings =
        dispatcher::config::load_settings(from_environment, cli.config_file, cli.setting_flags);
  } catch (const dispatcher::config::config_error& e) {
    warn_unknown_variables();
    std::cerr << "dispatcher: invalid setting " << e.what() << "\n";
    return 2;
  }
  dispatcher::obs::set_log_level(settings.log_level);

  if (cli.cmd == command_line::command::publish) {
    return dispatcher::app::run_publish(cli.publish, settings);
  }
  warn_unknown_variables();
  if (settings.admin_token.empty()) {
    std::cerr << "dispatcher: invalid setting DISPATCHER_ADMIN_TOKEN: serve needs an admin token "
                 "(set DISPATCHER_ADMIN_TOKEN or --admin-token)\n";
    return 2;
  }
  dispatcher::obs::log_fields(dispatcher::obs::level::info, "settings in effect",
                              dispatcher::config::effective_settings(settings));
  if (const auto files = dispatcher::app::raise_open_files_limit()) {
    const auto before = std::to_string(files->before), now = std::to_string(files->now);
    dispatcher::obs::log_info("open files limit", {{"started_with", before}, {"limit", now}});
    if (const auto warning =
            dispatcher::app::open_files_warning(files->now, settings.max_in_flight)) {
      dispatcher::obs::log_warn(*warning, {{"setting", "DISPATCHER_MAX_IN_FLIGHT"}});
    }
  } else {
    dispatcher::obs::log_warn("open files limit unknown: getrlimit failed",
                              {{"error", std::strerror(errno)}});
  }
  dispatcher::app::service service(std::move(settings));
  return service.run();
}
