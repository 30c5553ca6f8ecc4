// The operator commands besides serve: `publish` (JSON lines onto the stream, validated
// like the stream reader validates them), `replay` (a requeue through the admin API) and
// `dead-letters` (list, retry, delete through the admin API). Each returns the process
// exit code and prints its own report.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "dispatcher/app/cli.hpp"
#include "dispatcher/config/settings.hpp"

namespace dispatcher::app {

/// Reads events, one JSON object a line, and XADDs the valid ones to the stream. A
/// rejected line is reported with its number and reason and the rest go on; exit 0 when
/// every line was added, 1 when some were rejected or Redis failed or did not answer one
/// step (lookup, connect, a command) within options.timeout.
int run_publish(const publish_options& options, const config::settings& settings);

/// POSTs /v1/deliveries/retry on DISPATCHER_URL with DISPATCHER_ADMIN_TOKEN and prints the
/// matched and queued counts; exit 1 when the API refused or did not answer the whole
/// exchange within options.timeout.
int run_replay(const replay_options& options,
               const std::function<std::optional<std::string>(const std::string&)>& env);

/// Lists, retries or deletes dead letters through the admin API (DISPATCHER_URL,
/// DISPATCHER_ADMIN_TOKEN). A retry reads the corrected event from options.file ("-":
/// standard input) when given. Exit 1 when the API refused (a retry still invalid, an id
/// that does not exist) or did not answer within options.timeout; 2 without a token.
int run_dead_letters(const dead_letters_options& options,
                     const std::function<std::optional<std::string>(const std::string&)>& env);

}  // namespace dispatcher::app
