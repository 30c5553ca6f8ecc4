#include "dispatcher/app/open_files.hpp"

#include <sys/resource.h>

#include <limits>

#include "dispatcher/delivery/idle_pool.hpp"

namespace dispatcher::app {

namespace {

std::size_t as_size(rlim_t value) {
  if (value == RLIM_INFINITY) return std::numeric_limits<std::size_t>::max();
  return static_cast<std::size_t>(value);
}

}  // namespace

std::optional<open_files_limit> raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
  open_files_limit out{as_size(limit.rlim_cur), as_size(limit.rlim_cur)};
  if (limit.rlim_cur == limit.rlim_max) return out;
  rlimit raised = limit;
  raised.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) out.now = as_size(raised.rlim_cur);
  return out;
}

std::size_t open_files_needed(std::size_t max_in_flight) {
  return max_in_flight + delivery::idle_per_origin(max_in_flight) + 64;
}

std::optional<std::string> open_files_warning(std::size_t limit, std::size_t max_in_flight) {
  const auto needed = open_files_needed(max_in_flight);
  if (limit >= needed) return std::nullopt;
  return "DISPATCHER_MAX_IN_FLIGHT " + std::to_string(max_in_flight) + " may need " +
         std::to_string(needed) + " open files (attempts in flight and idle keep-alive " +
         "connections) but the limit is " + std::to_string(limit) +
         ": raise the hard limit (ulimit -Hn, LimitNOFILE=) or lower the setting";
}

}  // namespace dispatcher::app
