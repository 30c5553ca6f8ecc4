// The decisions of the commands that go through the admin API (replay, dead-letters):
// where the API is, which requests to send, and what an answer means for the operator
// (the line printed, the exit code). Pure functions from options and answers to text, so
// every message and exit code is tested without a server; app/commands.cpp only sends the
// requests these name and prints what these return.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "dispatcher/app/cli.hpp"
#include "dispatcher/common/target.hpp"

namespace dispatcher::app {

using environment_lookup = std::function<std::optional<std::string>(const std::string&)>;

/// The admin API as a command reaches it: --url, else DISPATCHER_URL, else the local default,
/// and DISPATCHER_ADMIN_TOKEN.
struct admin_api_address {
  std::string url;
  dispatcher::target where;
  std::string token;
  /// "the admin API at http://...", the subject of the sentences that report failures.
  std::string name() const { return "the admin API at " + url; }
};

/// The address, or the sentence of why there is none (a missing token, a bad URL): the
/// command prints it and exits 2.
std::variant<admin_api_address, std::string> admin_api_from(
    const std::optional<std::string>& url_flag, const environment_lookup& env);

/// What a command prints and returns: `out` on standard output; `failure`, when set, on
/// standard error after "dispatcher <command>: ".
struct command_outcome {
  int exit_code = 0;
  std::string out;
  std::optional<std::string> failure;
};

/// An answer of the admin API: its status and body.
struct api_answer {
  int status = 0;
  std::string body;
};

/// An id as one path segment: anything but unreserved characters percent-encoded, so an
/// operator's typo cannot change the path it is put in.
std::string path_segment(std::string_view id);

/// The API's own error message when the body is its JSON error, else the body (cut at 200
/// bytes).
std::string api_error_text(std::string_view body);

/// Control characters shown as spaces: a stored payload was written by whoever produced the
/// bad entry, and must not be able to drive the operator's terminal.
std::string printable(std::string_view text);

// -- replay ----------------------------------------------------------------------------------

/// POST /v1/deliveries/retry's body for the options (their filters and dry_run).
nlohmann::json replay_request_body(const replay_options& options);

/// The answer to POST /v1/deliveries/{id}/retry.
command_outcome replay_one_outcome(const std::string& id, const api_answer& answer,
                                   const std::string& api_name);

/// The answer to GET /v1/endpoints/{id}, asked before a bulk replay by endpoint (a misspelt
/// id would match nothing and exit 0): the failure, or nullopt when the endpoint exists.
std::optional<std::string> endpoint_check_failure(const std::string& endpoint,
                                                  const api_answer& answer,
                                                  const std::string& api_name);

/// The number of matches in a dry run's answer, for the progress line; nullopt when the
/// answer holds none.
std::optional<long long> matched_count(const api_answer& answer);

/// The answer to the bulk POST /v1/deliveries/retry.
command_outcome replay_outcome(bool dry_run, const api_answer& answer, const std::string& api_name);

// -- dead-letters ----------------------------------------------------------------------------

/// A retry's request body, {"payload": {...}} with the corrected event in `text` (read from
/// `source`, a file name or "standard input"), or the sentence saying why it holds none.
std::variant<nlohmann::json, std::string> retry_body_from(std::string_view text,
                                                          const std::string& source);

/// GET's target for a page of the list.
std::string dead_letters_list_target(std::size_t limit, const std::optional<std::string>& cursor);

command_outcome dead_letter_delete_outcome(const std::string& id, const api_answer& answer,
                                           const std::string& api_name);
command_outcome dead_letter_retry_outcome(const std::string& id, const api_answer& answer,
                                          const std::string& api_name);
command_outcome dead_letters_list_outcome(std::size_t limit, const api_answer& answer,
                                          const std::string& api_name);

}  // namespace dispatcher::app
