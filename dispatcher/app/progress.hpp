// Progress of `dispatcher replay` on a terminal (issue 11). A bulk replay is one request
// that the API answers once every match is queued, which for a large match takes a while;
// on a terminal the command first counts the matches (a dry run), then shows the count and
// the time spent queueing them, on one line of standard error rewritten each second. In a
// pipe, a file or cron it prints nothing but the final result, as before. The decisions
// and the text are pure functions; app/commands.cpp ticks beside the request.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace dispatcher::app {

/// Whether a replay shows progress: only a bulk replay that queues (a dry run is the count
/// itself), and only when standard error is a terminal.
bool replay_shows_progress(bool stderr_is_terminal, bool dry_run, bool single_delivery);

/// The status line, starting with "\r" and the erase-line sequence so each one replaces
/// the last: "replay: counting matches... 3s", then "replay: 120,000 matched, queueing...
/// 12s" (the result, matched and queued, follows on standard output).
std::string progress_line(std::optional<long long> matched, std::chrono::seconds elapsed);

/// "120,000": counts a reader takes in at a glance.
std::string group_thousands(long long n);

}  // namespace dispatcher::app
