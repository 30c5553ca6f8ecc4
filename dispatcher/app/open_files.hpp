// How many files `serve` may hold open, and the process's limit on them. Each attempt in
// flight holds a socket and a receiver's origin keeps as many idle keep-alive connections
// (delivery/idle_pool.hpp), so DISPATCHER_MAX_IN_FLIGHT sets the need; the usual soft
// limit of 1024 is below it from 512 on. serve raises the soft limit to the hard one at
// startup, as Go's runtime and nginx do, and warns when even that is short.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace dispatcher::app {

struct open_files_limit {
  std::size_t before = 0;  // the soft limit the process started with
  std::size_t now = 0;     // after raising it to the hard limit (unchanged if refused)
};

/// Raises the soft RLIMIT_NOFILE to the hard limit; nullopt when the limit cannot be read
/// (getrlimit failed), which says nothing about how many files serve may open.
std::optional<open_files_limit> raise_open_files_limit();

/// Files serve may need at once with `max_in_flight`: a socket per attempt in flight, the
/// idle connections one origin may keep, and 64 for the rest (Redis, admin clients, logs).
std::size_t open_files_needed(std::size_t max_in_flight);

/// The warning when `limit` is short of open_files_needed, naming the setting; none when
/// it is not.
std::optional<std::string> open_files_warning(std::size_t limit, std::size_t max_in_flight);

}  // namespace dispatcher::app
