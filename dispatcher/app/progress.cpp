// The replay's progress line; see progress.hpp.
#include "dispatcher/app/progress.hpp"

namespace dispatcher::app {

bool replay_shows_progress(bool stderr_is_terminal, bool dry_run, bool single_delivery) {
  return stderr_is_terminal && !dry_run && !single_delivery;
}

std::string group_thousands(long long n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string progress_line(std::optional<long long> matched, std::chrono::seconds elapsed) {
  std::string line = "\r\x1b[Kreplay: ";
  const std::string seconds = " " + std::to_string(elapsed.count()) + "s";
  if (!matched) return line + "counting matches..." + seconds;
  return line + group_thousands(*matched) + " matched, queueing..." + seconds;
}

}  // namespace dispatcher::app
